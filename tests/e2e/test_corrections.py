"""Correction requests through the gateway, on the real broker and databases: a family whose
application the register rejected asks for a correction with evidence; the department
reviews it from its queue and approves (the register is corrected and the application ends
verified, through the normal verification and the outbox) or refuses with a reason the
family then sees. Every step is notified and audited; another family gets 404s."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.conftest import System
from tests.support.accounts import (
    DEPARTMENT,
    PARENT,
    PASSWORD,
    bearer,
    credentials,
    make_account,
)
from tests.support.browser_process import play
from tests.support.portal import as_a_browser, portal_session
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
ROUND = "2027-grade_1"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8  # a photo's first bytes; content is opaque
PDF = b"%PDF-1.4\n% a VNeID certificate\n" + b"0" * 512


@pytest.fixture(scope="module")
def people(system: System) -> dict[str, Any]:
    """A department officer and two parents, logged in (the first also in the portal)."""
    db = system.databases["gateway"]
    accounts = {
        who: make_account(db, role)
        for who, role in (("department", DEPARTMENT), ("parent", PARENT), ("other", PARENT))
    }
    logins = {who: credentials(db, account) for who, account in accounts.items()}
    headers = {who: _token(system, login) for who, login in logins.items()}
    return {"headers": headers, "logins": logins}


def test_a_correction_request_from_rejection_to_approval_to_verified(
    system: System, people: dict[str, Any]
) -> None:
    parent, other, department = (people["headers"][w] for w in ("parent", "other", "department"))
    form, person = _children(system)[0]
    typed = {**form, "child": {**form["child"], "full_name": "Nguyen Van Sai Ten"}}
    reference = _submit(system, parent, typed)
    rejected = _until_status(system, parent, reference, "rejected")
    assert [r["code"] for r in rejected["rejection_reasons"]] == ["name_mismatch"]

    path = f"/api/v1/applications/{reference}/corrections"
    wrong = _ask(system, parent, path, b"<html><script>alert(1)</script>", "vneid.png")
    foreign = _ask(system, other, path, PNG, "vneid.png")
    missing = _ask(system, parent, "/api/v1/applications/TSNOSUCHAPPLICATION/corrections", PNG)
    asked = _ask(system, parent, path, PNG, "vneid.png")
    again = _ask(system, parent, path, PNG, "vneid.png")

    assert wrong.status_code == 400
    assert wrong.json()["error"]["fields"] == {
        "evidence": ["the file is not a JPEG or PNG photo, nor a PDF"]
    }
    assert (foreign.status_code, foreign.json()) == (missing.status_code, missing.json())
    assert foreign.status_code == 404
    assert asked.status_code == 201, asked.text
    request = asked.json()
    assert (request["status"], request["codes"]) == ("pending", ["name_mismatch"])
    assert (request["evidence_type"], request["evidence_bytes"]) == ("image/png", len(PNG))
    assert again.status_code == 409 and again.json()["error"]["code"] == "request_pending"

    queue = _get(system, "/api/v1/corrections", department).json()
    assert request["request_id"] in [r["request_id"] for r in queue]
    assert _get(system, "/api/v1/corrections", parent).status_code == 403
    one = f"/api/v1/corrections/{request['request_id']}"
    review = _get(system, one, department).json()
    assert review["application"]["child"]["full_name"] == "Nguyen Van Sai Ten"
    assert review["register"]["full_name"] == person["full_name"]
    shown = _get(system, f"{one}/evidence", department)
    own = _get(system, f"{path}/{request['request_id']}/evidence", parent)
    stranger = _get(system, f"{path}/{request['request_id']}/evidence", other)
    assert (shown.content, shown.headers["Content-Type"]) == (PNG, "image/png")
    assert shown.headers["X-Content-Type-Options"] == "nosniff"
    assert own.content == PNG
    assert stranger.status_code == 404

    decided = _post(
        system,
        f"{one}/decision",
        department,
        {
            "decision": "approved",
            "register": {"full_name": "Nguyen Van Sai Ten"},
        },
    )
    twice = _post(system, f"{one}/decision", department, {"decision": "refused", "reason": "no"})

    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "approved"
    assert twice.status_code in (400, 409)
    verified = _until_status(system, parent, reference, "verified")
    assert verified["rejection_reasons"] is None
    templates = _until(system, lambda: _templates(system, parent, reference, 4), "the notices")
    assert {"correction_requested", "correction_approved", "application_verified"} <= templates
    mine = _get(system, path, parent).json()
    assert [(r["status"], r["outcome"]) for r in mine] == [("approved", "verified")]
    audit = _get(system, f"/api/v1/audit?reference={reference}", department).json()["entries"]
    actions = {entry["action"] for entry in audit}
    assert {"correction.request", "correction.read", "correction.evidence"} <= actions
    assert {"correction.decide", "correction.approved"} <= actions


def test_a_refused_correction_comes_back_to_the_family_with_its_reason(
    system: System, people: dict[str, Any]
) -> None:
    parent, department = people["headers"]["parent"], people["headers"]["department"]
    form, _ = _children(system)[1]
    typed = {**form, "child": {**form["child"], "date_of_birth": "2021-12-31"}}
    if typed["child"]["date_of_birth"] == form["child"]["date_of_birth"]:
        typed["child"]["date_of_birth"] = "2021-12-30"
    reference = _submit(system, parent, typed)
    _until_status(system, parent, reference, "rejected")

    portal = portal_session(system.url, people["logins"]["parent"], language="en")
    page = portal.get(f"{system.url}/parent/applications/{reference}", timeout=30)
    as_a_browser(portal)
    assert 'id="correction-form"' in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    sent = portal.post(
        f"{system.url}/parent/applications/{reference}/correction",
        data={"csrf_token": token.group(1), "text": "The register has the wrong birth date."},
        files={"evidence": ("vneid.pdf", PDF, "application/pdf")},
        timeout=60,
        allow_redirects=False,
    )
    as_a_browser(portal)
    assert sent.status_code in (302, 303), sent.text[-2000:]
    shown = portal.get(f"{system.url}{sent.headers['Location']}", timeout=30)
    as_a_browser(portal)
    assert "Your correction request is sent." in shown.text
    mine = _get(system, f"/api/v1/applications/{reference}/corrections", parent).json()
    assert [r["status"] for r in mine] == ["pending"]

    reason = "The VNeID screenshot does not show the birth date; please send a clearer one."
    empty = _post(
        system,
        f"/api/v1/corrections/{mine[0]['request_id']}/decision",
        department,
        {"decision": "refused"},
    )
    refused = _post(
        system,
        f"/api/v1/corrections/{mine[0]['request_id']}/decision",
        department,
        {"decision": "refused", "reason": reason},
    )

    assert empty.status_code == 400 and "reason" in empty.json()["error"]["fields"]
    assert refused.status_code == 200, refused.text
    still = _get(system, f"/api/v1/applications/{reference}", parent).json()
    assert still["status"] == "rejected"

    def refusal_told() -> bool:
        # The inbox may hold fewer than two notices yet: each consumer waits for its batch.
        return "correction_refused" in (_templates(system, parent, reference, 2) or ())

    _until(system, refusal_told, "the refusal's notice")
    page = portal.get(f"{system.url}/parent/applications/{reference}", timeout=30)
    as_a_browser(portal)
    assert reason in page.text, page.text[page.text.find('id="correction"') :][:3000]
    assert 'id="correction-form"' in page.text  # a new request, with other evidence, may follow
    vi = portal.get(f"{system.url}/parent/applications/{reference}?lang=vi", timeout=30)
    assert "Không được chấp thuận" in vi.text


def test_the_portal_pages_on_a_phone_and_a_desktop(
    system: System, people: dict[str, Any], tmp_path: Path
) -> None:
    parent = people["headers"]["parent"]
    form, _ = _children(system)[2]
    typed = {**form, "child": {**form["child"], "full_name": "Tran Thi Sai"}}
    pending = _submit(system, parent, typed)
    _until_status(system, parent, pending, "rejected")
    mine = _get(system, "/api/v1/applications", parent).json()
    refused = next(
        a["reference"] for a in mine if a["status"] == "rejected" and a["reference"] != pending
    )
    config = {
        "url": system.url,
        "workdir": str(tmp_path),
        "parent": {"who": people["logins"]["parent"]["phone"], "password": PASSWORD},
        "department": {"who": people["logins"]["department"]["username"], "password": PASSWORD},
        "pending": pending,
        "refused": refused,
    }
    played = play("corrections_browser", config, tmp_path / "corrections.json", timeout=300)

    assert played.returncode == 0, f"{played.output}\n{system.logs()}"
    assert "[corrections] done" in played.stdout, played.output
    _until_status(system, parent, pending, "verified")  # approved on the review page
    asked = _get(system, f"/api/v1/applications/{pending}/corrections", parent).json()
    assert [(r["status"], r["evidence_type"]) for r in asked] == [("approved", "image/png")]


# --- helpers ----------------------------------------------------------------------------------


def _children(system: System) -> list[tuple[dict[str, Any], dict[str, str]]]:
    """Sample grade-1 applications whose child is in the register exactly as typed."""
    with open(system.city / "register.csv", encoding="utf-8") as rows:
        register = {row["citizen_id"]: row for row in csv.DictReader(rows)}
    found = []
    with open(system.city / "applications.jsonl", encoding="utf-8") as lines:
        for line in lines:
            form = json.loads(line)
            person = register.get(form["child"]["citizen_id"])
            if form["round_id"] != ROUND or person is None:
                continue
            if (person["full_name"], person["date_of_birth"]) == (
                form["child"]["full_name"],
                form["child"]["date_of_birth"],
            ):
                found.append((form, person))
    assert len(found) >= 3
    return found


def _token(system: System, login: dict[str, str]) -> dict[str, str]:
    answer = requests.post(system.api("/api/v1/auth/token"), json=login, timeout=30)
    assert answer.status_code == 200, answer.text
    return bearer(answer.json()["access_token"])


def _submit(system: System, parent: dict[str, str], form: dict[str, Any]) -> str:
    answer = _post(system, "/api/v1/applications", parent, form)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["reference"])


def _ask(
    system: System, who: dict[str, str], path: str, data: bytes, name: str = "evidence.png"
) -> requests.Response:
    text = {"text": "The register misspells the child's name; VNeID shows it right."}
    files = {"evidence": (name, data, "image/png")}
    return requests.post(system.api(path), data=text, files=files, headers=who, timeout=60)


def _get(system: System, path: str, who: dict[str, str]) -> requests.Response:
    return requests.get(system.api(path), headers=who, timeout=60)


def _post(system: System, path: str, who: dict[str, str], body: Any) -> requests.Response:
    return requests.post(system.api(path), json=body, headers=who, timeout=60)


def _until(system: System, probe: Any, what: str) -> Any:
    try:
        return wait_for(probe, timeout=90, interval=0.3, what=what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{system.logs()}") from exc


def _until_status(
    system: System, parent: dict[str, str], reference: str, status: str
) -> dict[str, Any]:
    def probe() -> Any:
        answer = _get(system, f"/api/v1/applications/{reference}", parent)
        return answer.status_code == 200 and answer.json()["status"] == status and answer.json()

    found: dict[str, Any] = _until(system, probe, f"{reference} to be {status}")
    return found


def _templates(system: System, parent: dict[str, str], reference: str, at_least: int) -> Any:
    answer = _get(system, f"/api/v1/inbox?reference={reference}", parent)
    found = {n["template"] for n in answer.json()["messages"]} if answer.ok else set()
    return found if len(found) >= at_least else None
