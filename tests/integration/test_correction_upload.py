"""The correction request's upload at the door: the gateway in-process (Flask test client) on
the real broker, with real allocation and registration services. Every bad part of the
multipart body is a 400 naming its field, a file is judged by its bytes, and a family has
one request under review at a time (409)."""

from __future__ import annotations

import io
from typing import Any

import pytest

from shared.corrections import MAX_EVIDENCE_BYTES

pytestmark = pytest.mark.integration
# The gateway's fixtures (tests/integration/conftest.py): a logged-in parent's client, with
# allocation and registration running.

PATH = "/api/v1/applications/TSGATEWAYTEST0001/corrections"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
TEXT = "The register misspells my daughter's name."


def ask(client: Any, text: str | None, data: bytes | None, name: str = "a.png") -> Any:
    form: dict[str, Any] = {} if text is None else {"text": text}
    if data is not None:
        form["evidence"] = (io.BytesIO(data), name, "image/png")
    return client.post(PATH, data=form, content_type="multipart/form-data")


def test_a_missing_text_or_file_is_400_for_that_field(client: Any) -> None:
    neither = ask(client, None, None)
    short = ask(client, "wrong", PNG)

    assert neither.status_code == 400
    assert neither.json["error"]["fields"].keys() == {"text", "evidence"}
    assert short.status_code == 400 and short.json["error"]["fields"].keys() == {"text"}


def test_a_body_larger_than_the_limit_is_refused_before_it_is_read(client: Any) -> None:
    answer = ask(client, TEXT, PNG + b"\x00" * 2 * MAX_EVIDENCE_BYTES)

    assert answer.status_code == 400
    assert answer.json["error"]["fields"] == {"evidence": ["the file is larger than 5 MB"]}


def test_a_file_named_like_a_photo_is_judged_by_its_bytes(
    client: Any, registration_with_an_application: Any
) -> None:
    page = ask(client, TEXT, b"<html><script>alert(1)</script></html>", "vneid.png")
    just_over = ask(client, TEXT, PNG.ljust(MAX_EVIDENCE_BYTES + 1, b"\x00"))

    assert page.status_code == 400
    assert page.json["error"]["fields"] == {
        "evidence": ["the file is not a JPEG or PNG photo, nor a PDF"]
    }
    assert just_over.status_code == 400
    assert just_over.json["error"]["fields"] == {"evidence": ["the file is larger than 5 MB"]}


def test_a_request_is_stored_with_its_evidence_and_one_at_a_time(
    client: Any, registration_with_an_application: Any
) -> None:
    # The fixture's child is not in the (empty) register: rejected, `not_in_register`.
    asked = ask(client, TEXT, PNG)
    again = ask(client, TEXT, PNG)
    listed = client.get(PATH)
    evidence = client.get(f"{PATH}/{asked.json['request_id']}/evidence")

    assert asked.status_code == 201, asked.json
    assert (asked.json["status"], asked.json["codes"]) == ("pending", ["not_in_register"])
    assert again.status_code == 409
    assert again.json["error"]["code"] == "request_pending"
    assert [r["request_id"] for r in listed.json] == [asked.json["request_id"]]
    assert (evidence.data, evidence.mimetype) == (PNG, "image/png")
    assert evidence.headers["X-Content-Type-Options"] == "nosniff"
