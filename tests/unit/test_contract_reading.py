"""The consumers' reader of events gives what marshmallow's loading gives, and refuses the same."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.contracts.envelope import PoisonMessage, make_message, parse_message
from shared.contracts.reading import read_event
from tests.unit.notification.examples import EVENTS, REFERENCE, ROUND


def wire(event: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The envelope as a consumer receives it: made by the producer, through JSON."""
    body: dict[str, Any] = json.loads(json.dumps(make_message(event, payload), default=str))
    return body


def with_payload(event: str, payload: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body = wire(event, payload)
    body["payload"] = {**body["payload"], **changes}
    return body


@pytest.mark.parametrize(("event", "payload"), [(e, p) for e, p, _ in EVENTS])
def test_every_event_notification_reads_loads_as_marshmallow_loads_it(
    event: str, payload: dict[str, Any]
) -> None:
    body = wire(event, payload)
    assert read_event(body, event) == parse_message(body, event)


@pytest.mark.parametrize(
    ("event", "changes"),
    [
        ("seat_offered", {"preference_rank": "2"}),  # coerced by marshmallow
        ("seat_offered", {"added_by_a_newer_producer": 1}),  # left out
        ("application_verified", {"with_receipt": "true", "lat": 21, "lon": 105.8}),
        ("application_refused", {}),  # defaults filled in
        ("seat_offered", {"deadline": "2027-07-20T17:00:00+07:00"}),
    ],
)
def test_what_marshmallow_would_coerce_or_drop_comes_out_the_same(
    event: str, changes: dict[str, Any]
) -> None:
    payload = next(p for e, p, _ in EVENTS if e == event)
    body = with_payload(event, payload, **changes)
    assert read_event(body, event) == parse_message(body, event)


def test_a_payload_without_its_defaults_gets_them() -> None:
    body = wire("application_refused", {"reference": REFERENCE, "round_id": ROUND})
    body["payload"].pop("reason", None), body["payload"].pop("what", None)
    message = read_event(body, "application_refused")
    assert message.payload["reason"] == "round_closed"
    assert message.payload["what"] == "submission"


MALFORMED = [
    ("seat_offered", lambda b: b["payload"].pop("reference")),
    ("seat_offered", lambda b: b["payload"].update(deadline="2027-07-20T10:00:00")),  # naive
    ("seat_offered", lambda b: b["payload"].update(school_code=None)),
    ("seat_offered", lambda b: b["payload"].update(preference_rank="first")),
    ("seat_offered", lambda b: b.update(payload=[])),
    ("seat_offered", lambda b: b.update(event_id="not-a-uuid")),
    ("seat_offered", lambda b: b.update(version=0)),
    ("seat_offered", lambda b: b.update(extra=1)),  # the envelope refuses unknown keys
    ("seat_offered", lambda b: b.pop("occurred_at")),
    ("application_unplaced", lambda b: b["payload"].update(reason="no_such_reason")),
    ("application_rejected", lambda b: b["payload"]["reasons"][0].update(value="a name")),
    ("application_rejected", lambda b: b["payload"].update(reasons=[{"field": "x"}])),
    ("application_waitlisted", lambda b: b["payload"].update(positions={"a": 1})),
]


@pytest.mark.parametrize(("event", "spoil"), MALFORMED)
def test_a_malformed_event_is_poison_as_marshmallow_says(event: str, spoil: Any) -> None:
    payload = next(p for e, p, _ in EVENTS if e == event)
    body = wire(event, payload)
    spoil(body)
    with pytest.raises(PoisonMessage):
        parse_message(body, event)
    with pytest.raises(PoisonMessage):
        read_event(body, event)


def test_an_event_of_another_type_is_poison() -> None:
    body = wire("application_withdrawn", {"reference": REFERENCE, "round_id": ROUND})
    with pytest.raises(PoisonMessage):
        read_event(body, "application_erased")
    with pytest.raises(PoisonMessage):
        read_event(["not", "an", "envelope"], "application_erased")
