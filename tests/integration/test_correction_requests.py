"""Registration's correction requests on the real broker and PostgreSQL: a request holds the
round's intake open until it is decided; an approval that adds a child missing from the
register writes the register and checks the application again, and both verdict and
decision leave through the outbox; the decision is in registration's audit log. Erasing the
application blanks the family's words and evidence."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from nameko.testing.services import entrypoint_hook

from services.registration.exceptions import CorrectionNotFound, InvalidCorrection
from shared.contracts.envelope import make_message
from shared.messaging.bus import MessageBus
from tests.integration import test_erasure, test_verification
from tests.support.broker import drain, tap
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration
registration = test_verification.registration  # the three-person register, round and schools
erasable = test_erasure.registration  # one application; erasure due at once
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
OWNER = "parent-account-1"
DEPARTMENT = {"actor_id": "officer-1", "role": "department", "ip": "127.0.0.1"}


def call(container: Any, name: str, *args: Any) -> Any:
    with entrypoint_hook(container, name) as entrypoint:
        return entrypoint(*args)


def test_an_approval_adds_the_missing_child_and_the_application_is_verified(
    registration: Any, bus: MessageBus, amqp_uri: str
) -> None:
    verified = tap(amqp_uri, "registration", "application_verified")
    decided = tap(amqp_uri, "registration", "correction_decided")
    rejected = test_verification.submit_and_settle(
        registration, bus, citizen_id="001221000999", owner_id=OWNER, preferences=("TH-0001",)
    )
    assert [r["code"] for r in rejected["rejection_reasons"]] == ["not_in_register"]
    reference = rejected["reference"]

    asked = call(
        registration,
        "request_correction",
        reference,
        OWNER,
        "Not in the register.",
        base64.b64encode(PNG).decode(),
        "corr-1",
    )
    waiting = call(registration, "intake_status", "2027-grade_1")
    incomplete = {"decision": "approved", "register": {"full_name": "Nguyễn Văn An"}}
    with pytest.raises(InvalidCorrection, match="register.ward_code"):
        call(registration, "decide_correction", asked["request_id"], incomplete, DEPARTMENT, "c2")
    person = {
        "full_name": "Nguyễn Văn An",
        "date_of_birth": "2021-03-04",
        "gender": "M",
        "ward_code": "00070",
        "household_id": "HN0000000009",
    }
    approval = {"decision": "approved", "register": person}
    done = call(registration, "decide_correction", asked["request_id"], approval, DEPARTMENT, "c3")
    after = call(registration, "intake_status", "2027-grade_1")
    review = call(registration, "get_correction", asked["request_id"])
    audit = call(registration, "audit_entries", {"reference": reference})

    assert asked["status"] == "pending" and waiting["unverified"] == 1
    assert (done["status"], done["outcome"]) == ("approved", "verified")
    assert after["unverified"] == 0
    assert review["register"]["ward_code"] == "00070"
    assert review["corrections"] == [{"fields": sorted(person), "created": True}]
    [(event, _)] = drain(amqp_uri, verified.name, expect=1)
    assert (event["payload"]["reference"], event["payload"]["ward_code"]) == (reference, "00070")
    [(event, _)] = drain(amqp_uri, decided.name, expect=1)
    assert event["payload"]["decision"] == "approved"
    assert [e["action"] for e in audit if e["action"].startswith("correction.")] == [
        "correction.approved"
    ]
    assert audit[0]["actor_id"] == "officer-1"


def test_erasing_an_application_blanks_its_requests_words_and_evidence(
    erasable: Any, bus: MessageBus
) -> None:
    container = erasable
    schools = [{"code": code, "level": "grade_1"} for code in ("TH-001", "TH-002")]
    bus.publish_event("allocation", make_message("school_directory_updated", {"schools": schools}))
    found = wait_for(  # the sweep checks it against an empty register: not_in_register
        lambda: (
            (a := call(container, "get_application", test_erasure.REFERENCE))["status"]
            == "rejected"
            and a
        ),
        what="the application to be rejected",
    )
    owner = found["owner_id"]
    asked = call(
        container,
        "request_correction",
        test_erasure.REFERENCE,
        owner,
        "Not in the register.",
        base64.b64encode(PNG).decode(),
        "corr-1",
    )
    refusal = {"decision": "refused", "reason": "No evidence of residence."}
    call(container, "decide_correction", asked["request_id"], refusal, DEPARTMENT, "corr-2")

    test_erasure.ask_erasure(container, bus)
    test_erasure.close_round(container, bus)
    test_erasure.run_retention_rule(container)

    [request] = call(container, "corrections_of", test_erasure.REFERENCE)
    assert (request["status"], request["reason"], request["text"]) == (
        "refused",
        "No evidence of residence.",
        None,
    )
    with pytest.raises(CorrectionNotFound):
        call(container, "correction_evidence", asked["request_id"])
