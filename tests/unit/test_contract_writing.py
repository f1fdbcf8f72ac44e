"""The contract's plan dumps a payload exactly as marshmallow dumps it, or leaves it to it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from shared.contracts.envelope import PAYLOADS, make_message
from shared.contracts.writing import dump_payload
from tests.unit.notification.examples import EVENTS

AT = datetime(2027, 6, 1, 7, 30, 12, 345678, tzinfo=UTC)


def submission(**changes: Any) -> dict[str, Any]:
    """A submission's payload as the gateway builds it: the loaded form (days and instants
    as Python values), its stamp and its audit entry."""
    payload = {
        "round_id": "2027-grade_1",
        "child": {
            "citizen_id": "001221000123",
            "full_name": "Nguyễn Văn An",
            "date_of_birth": date(2021, 3, 4),
        },
        "preferences": ["TH-0001", "TH-0002"],
        "guardian": {
            "full_name": "Nguyễn Thị Bình",
            "phone": "0912345678",
            "email": "binh@example.com",
            "language": "vi",
        },
        "reference": "TSABCDEFGHIJKLMNOP",
        "submitted_at": AT,
        "owner_id": "5f0c2a3e-0000-4000-8000-000000000001",
        "audit": {
            "action": "application.submit",
            "actor_id": "a1",
            "role": "parent",
            "ip": "10.0.0.7",
            "at": AT,
        },
    }
    return {**payload, **changes}


def marshmallow(message_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    dumped: dict[str, Any] = PAYLOADS[(message_type, 1)]().dump(payload)
    return dumped


@pytest.mark.parametrize(
    "payload",
    [
        submission(),
        submission(help_point="ward:00004", audit=None, owner_id=None),
        submission(submitted_at=AT.astimezone(timezone(timedelta(hours=7)))),
        submission(late={"reason": "hospital", "accepted_by": "d1"}, extra_key="dropped"),
        {k: v for k, v in submission().items() if k not in ("owner_id", "audit")},
    ],
)
def test_a_submission_dumps_exactly_as_marshmallow_dumps_it(payload: dict[str, Any]) -> None:
    assert dump_payload("submit_application", 1, payload) == marshmallow(
        "submit_application", payload
    )


@pytest.mark.parametrize(("event", "payload"), [(e, p) for e, p, _ in EVENTS])
def test_every_notified_event_dumps_as_marshmallow_dumps_it_or_is_left_to_it(
    event: str, payload: dict[str, Any]
) -> None:
    dumped = dump_payload(event, 1, payload)
    assert dumped is None or dumped == marshmallow(event, payload)


class Text(str):
    """A subclass marshmallow would turn into plain text."""


@pytest.mark.parametrize(
    "payload",
    [
        submission(child={**submission()["child"], "date_of_birth": AT}),  # an instant as a day
        submission(reference=Text("TSABCDEFGHIJKLMNOP")),
        submission(preferences=("TH-0001",)),  # a tuple, not a list
        submission(audit={**submission()["audit"], "actor_id": 7}),
    ],
)
def test_a_value_of_another_type_is_left_to_marshmallow(payload: dict[str, Any]) -> None:
    assert dump_payload("submit_application", 1, payload) is None
    envelope = make_message("submit_application", payload, check=False)
    assert envelope["payload"] == marshmallow("submit_application", payload)


def test_text_where_an_instant_goes_is_left_to_marshmallow_which_fails_on_it() -> None:
    payload = submission(submitted_at="2027-06-01T07:30:12+00:00")

    assert dump_payload("submit_application", 1, payload) is None
    with pytest.raises(AttributeError):
        make_message("submit_application", payload, check=False)


def test_an_unknown_contract_has_no_plan() -> None:
    assert dump_payload("no_such_command", 1, {}) is None
