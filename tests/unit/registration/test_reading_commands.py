"""Registration reads the gateway's submissions without marshmallow's machinery, and gets
exactly what marshmallow's loading gives; what marshmallow refuses is still poison."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.contracts.envelope import PoisonMessage, parse_message
from shared.contracts.reading import _plan_of, read_event
from tests.support.factories import round_opened, submit_application

AUDIT = {"action": "submit", "actor_id": "a1", "role": "parent", "ip": "10.0.0.1"}


def wire(body: dict[str, Any]) -> dict[str, Any]:
    """The envelope as the consumer receives it: through JSON."""
    loaded: dict[str, Any] = json.loads(json.dumps(body, default=str))
    return loaded


def a_submission(**changes: Any) -> dict[str, Any]:
    body = wire(submit_application(owner_id="owner-1"))
    body["payload"].update(changes)
    return body


def test_the_submission_contract_is_planned_not_left_to_marshmallow() -> None:
    assert _plan_of("submit_application", 1) is not None


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"audit": {**AUDIT, "at": datetime.now(UTC).isoformat()}},
        {"help_point": "ward:W-01", "owner_id": None},
        {"late": {"reason": "hospital stay", "accepted_by": "officer-7"}},
    ],
)
def test_a_submission_reads_as_marshmallow_loads_it(changes: dict[str, Any]) -> None:
    body = a_submission(**changes)
    assert read_event(body) == parse_message(body)
    assert read_event(body, "submit_application") == parse_message(body, "submit_application")


def test_the_window_events_in_the_same_queue_read_as_marshmallow_loads_them() -> None:
    body = wire(round_opened())
    assert read_event(body) == parse_message(body)


MALFORMED = [
    lambda p: p.update(unknown_field=1),  # a command refuses what it does not know
    lambda p: p["child"].update(nickname="An"),
    lambda p: p["child"].update(date_of_birth="2021-02-30"),  # no such day
    lambda p: p["child"].update(date_of_birth="04/03/2021"),
    lambda p: p["child"].update(citizen_id="12345"),
    lambda p: p["guardian"].update(email="not an address"),
    lambda p: p["guardian"].update(phone="call me"),
    lambda p: p.update(preferences=[]),
    lambda p: p.update(preferences=["th 001"]),
    lambda p: p.update(submitted_at="2027-13-01T10:00:00+07:00"),  # no such month
    lambda p: p.update(submitted_at="2027-06-01T10:00:00"),  # naive
    lambda p: p.update(help_point="a help desk"),
    lambda p: p.update(audit={**AUDIT}),  # no `at`
    lambda p: p.pop("guardian"),
]


@pytest.mark.parametrize("spoil", MALFORMED)
def test_a_malformed_submission_is_poison_as_marshmallow_says(spoil: Any) -> None:
    body = a_submission()
    spoil(body["payload"])
    with pytest.raises(PoisonMessage):
        parse_message(body)
    with pytest.raises(PoisonMessage):
        read_event(body)
