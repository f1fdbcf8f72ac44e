"""The portal's side of correction requests that needs no running service: an upload larger
than any correction request is refused before it is read, in plain words."""

from __future__ import annotations

from gateway.app import create_app
from gateway.smorest import MAX_MULTIPART_BYTES
from tests.support.accounts import gateway_config


def test_the_portal_refuses_a_body_larger_than_a_correction_request_before_reading_it() -> None:
    app = create_app(gateway_config("memory://", "sqlite://", RATELIMIT_STORAGE_URI="memory://"))
    body = b"--x\r\n" + b"0" * (MAX_MULTIPART_BYTES + 1)

    answer = app.test_client().post(
        "/parent/applications/TSABCDEFGHIJKLMNOP/correction?lang=en",
        data=body,
        content_type="multipart/form-data; boundary=x",
    )

    assert answer.status_code == 413
    assert "The file is too large" in answer.get_data(as_text=True)
