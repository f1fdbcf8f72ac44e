"""One application from the gateway to the parent's e-mail, through the real processes; the
parent has an account (made as the admin tools make it) and logs in through the gateway."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from services.registration.models import Application
from tests.e2e.conftest import System
from tests.support.accounts import PARENT, bearer, credentials, make_account
from tests.support.mailbox import read_mailbox, text_of
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e

FORM: dict[str, Any] = {
    "round_id": "2027-grade_1",
    # A child of the small demo city's register (tools.demo_city, seed 2027).
    "child": {
        "citizen_id": "001321307533",
        "full_name": "Nguyễn Thảo Ngọc",
        "date_of_birth": "2021-05-20",
    },
    "preferences": ["TH-0001", "TH-0002"],
    "guardian": {
        "full_name": "Nguyễn Thị Bình",
        "phone": "0912345678",
        "email": "binh@example.com",
        "language": "vi",
    },
}


@pytest.fixture(scope="module")
def parent(system: System) -> dict[str, str]:
    """A parent logged in through the gateway: the Authorization header."""
    db = system.databases["gateway"]
    body = credentials(db, make_account(db, PARENT))
    answer = requests.post(system.api("/api/v1/auth/token"), json=body, timeout=10)
    assert answer.status_code == 200, answer.text
    return bearer(answer.json()["access_token"])


def stored_applications(system: System, citizen_id: str) -> list[Application]:
    engine = create_engine(system.databases["registration"])
    try:
        with Session(engine) as session:
            query = select(Application).where(Application.citizen_id == citizen_id)
            return list(session.scalars(query))
    finally:
        engine.dispose()


def status_of(system: System, parent: dict[str, str], reference: str) -> dict[str, Any]:
    url = system.api(f"/api/v1/applications/{reference}")
    answer = requests.get(url, headers=parent, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def test_a_submission_is_stored_receipted_by_mail_and_verified_for_the_parent(
    system: System, parent: dict[str, str]
) -> None:
    answer = requests.post(
        system.api("/api/v1/applications"), json=FORM, headers=parent, timeout=10
    )

    assert answer.status_code == 202, answer.text
    reference = answer.json()["reference"]
    assert answer.json()["status"] == "received"
    [row] = wait_for(
        lambda: stored_applications(system, "001321307533"), what=f"the row\n{system.logs()}"
    )
    assert (row.reference, row.preferences) == (reference, FORM["preferences"])
    # The receipt; checked in the same transaction, it says "received and verified".
    receipts = ("application_received", "application_checked", "application_received_rejected")
    mails = wait_for(
        lambda: [
            mail
            for mail in read_mailbox(system.maildir)
            if mail["X-Tuyensinh-Template"] in receipts
        ],
        what=f"the receipt\n{system.logs()}",
    )
    assert [mail["To"] for mail in mails] == ["binh@example.com"]
    assert reference in mails[0]["Subject"]
    assert "Nguyễn Thảo Ngọc" in text_of(mails[0])
    checked = wait_for(
        lambda: (found := status_of(system, parent, reference))["status"] != "received" and found,
        what="verification",
    )
    assert (checked["status"], checked["rejection_reasons"]) == ("verified", None)
    assert checked["ward_code"]  # taken from the register
    assert checked["preferences"] == ["TH-0001", "TH-0002"]


def test_submitting_the_same_child_twice_leaves_one_application(
    system: System, parent: dict[str, str]
) -> None:
    child = {**FORM["child"], "citizen_id": "001221000456"}
    url = system.api("/api/v1/applications")
    first = requests.post(url, json={**FORM, "child": child}, headers=parent, timeout=10)
    again_form = {**FORM, "child": child, "preferences": ["TH-0003"]}
    again = requests.post(url, json=again_form, headers=parent, timeout=10)

    assert (first.status_code, again.status_code) == (202, 202)
    assert first.json()["reference"] == again.json()["reference"]
    amended = wait_for(
        lambda: [
            a for a in stored_applications(system, "001221000456") if a.preferences == ["TH-0003"]
        ],
        what="the amendment",
    )
    assert len(amended) == 1
    assert len(stored_applications(system, "001221000456")) == 1


def test_an_invalid_submission_is_400_and_stores_nothing(
    system: System, parent: dict[str, str]
) -> None:
    body = {**FORM, "child": {**FORM["child"], "citizen_id": "12"}}

    url = system.api("/api/v1/applications")
    answer = requests.post(url, json=body, headers=parent, timeout=10)

    assert answer.status_code == 400
    assert answer.json()["error"]["fields"] == {"child": {"citizen_id": ["must be 12 digits"]}}
    assert stored_applications(system, "12") == []
