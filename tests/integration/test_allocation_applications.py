"""Allocation's copy of the applications, taken in batches: a batch ends where the same events
one by one would end, applies each event once, and a poison message is parked alone.

The projection runs on both databases it ships with: PostgreSQL and the SQLite file of
`make run`. The batch consumer runs in the service over the real broker (the harness).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from services.allocation import rounds
from services.allocation.domain import RoundOptions
from services.allocation.exceptions import IntakeNotComplete
from services.allocation.models import VerifiedApplication
from services.allocation.projection import CONSUMER, apply_application_events
from shared import topology
from shared.contracts.envelope import Message, make_message
from shared.contracts.reading import read_event
from shared.db.engine import build_engine
from shared.db.migrate import upgrade
from shared.db.tables import processed_messages
from tests.support.allocation_harness import ROUND, Harness
from tests.support.broker import drain
from tests.support.databases import create_database, drop_database

REF, OTHER = "TSA0000000001", "TSB0000000001"


@pytest.fixture(params=["postgresql", "sqlite"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated allocation database with the 2027 grade-1 round open."""
    if request.param == "sqlite":
        uri = f"sqlite:///{tmp_path / 'allocation.db'}"
        upgrade("allocation", uri)
    else:
        uri = create_database("allocation")
    engine = build_engine(uri)
    with Session(engine) as session, session.begin():
        rounds.create_round(session, RoundOptions("grade_1", 2027))
        rounds.open_round(session, ROUND)
    yield engine
    engine.dispose()
    if request.param == "postgresql":
        drop_database(uri)


def verified(reference: str, citizen_id: str = "001200000001") -> dict[str, Any]:
    payload = {
        "reference": reference,
        "round_id": ROUND,
        "citizen_id": citizen_id,
        "ward_code": "00001",
        "household_id": f"H{citizen_id}",
        "priority_category": None,
        "preferences": ["SCH-A"],
    }
    return wire(make_message("application_verified", payload))


def about(event_type: str, reference: str, **payload: Any) -> dict[str, Any]:
    payload.update(reference=reference, round_id=ROUND)
    return wire(make_message(event_type, payload))


def wire(envelope: dict[str, Any]) -> dict[str, Any]:
    """The envelope as the consumer receives it: through JSON."""
    body: dict[str, Any] = json.loads(json.dumps(envelope))
    return body


def apply(engine: Engine, *bodies: dict[str, Any]) -> int:
    """One batch, in one transaction, as the handler applies it."""
    messages: list[Message] = [read_event(body) for body in bodies]
    with Session(engine) as session, session.begin():
        return apply_application_events(session, messages, datetime.now(UTC))


def stored(engine: Engine, reference: str) -> VerifiedApplication | None:
    with Session(engine) as session:
        return session.get(VerifiedApplication, reference)


def test_a_batch_ends_in_the_state_its_events_give_one_after_the_other(engine: Engine) -> None:
    apply(
        engine,
        verified(REF),
        verified(OTHER, "001200000002"),
        about("application_withdrawn", REF),
        about("application_rejected", OTHER, reasons=[{"field": "ward", "code": "mismatch"}]),
        verified(OTHER, "001200000002"),  # amended and verified again
    )

    assert (row := stored(engine, REF)) is not None and row.state == "withdrawn"
    assert (row := stored(engine, OTHER)) is not None and row.state == "verified"


def test_a_verdict_then_its_erasure_in_one_batch_leaves_no_personal_data(engine: Engine) -> None:
    apply(engine, verified(REF), about("application_erased", REF))

    row = stored(engine, REF)
    assert row is not None and row.state == "verified"
    assert (row.citizen_id, row.ward_code, row.household_id) == (None, None, None)


def test_an_event_twice_in_a_batch_or_delivered_again_is_applied_once(engine: Engine) -> None:
    verdict, withdrawal = verified(REF), about("application_withdrawn", REF)

    assert apply(engine, verdict, verdict, withdrawal) == 2
    # Redelivered after the commit, in another batch with a new event: only that one is new.
    assert apply(engine, withdrawal, verdict, verified(OTHER, "001200000002")) == 1

    assert (row := stored(engine, REF)) is not None and row.state == "withdrawn"
    with Session(engine) as session:
        handled = select(func.count()).where(processed_messages.c.consumer == CONSUMER)
        assert session.scalar(handled) == 3


def test_a_poison_message_is_parked_alone_and_the_rest_of_its_batch_applied(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    poison = verified("TSPOISON00001")
    poison["payload"]["citizen_id"] = "not-a-citizen-id"
    batch = [verified(REF), poison, about("application_withdrawn", REF)]
    batch.append(verified(OTHER, "001200000002"))
    caplog.set_level(logging.WARNING, logger="shared.messaging.handlers")

    for envelope in batch:  # within the batch's wait: one batch
        harness.bus.publish_event("registration", envelope)

    dead = topology.dead_letter_queue("allocation.on.applications").name
    [(body, headers)] = drain(harness.amqp_uri, dead, expect=1, timeout=15)
    assert body["event_id"] == poison["event_id"]
    assert headers["x-tuyensinh-attempt"] == 1
    assert "not-a-citizen-id" not in headers["x-tuyensinh-detail"]
    assert "batch of 4 from allocation.on.applications failed" in caplog.text
    assert eventually_in(harness.engine, OTHER, "verified")
    # Each tried on its own may come in any order: the newest verdict still wins.
    assert eventually_in(harness.engine, REF, "withdrawn")
    assert stored(harness.engine, "TSPOISON00001") is None


def eventually_in(engine: Engine, reference: str, state: str, timeout: float = 15) -> bool:
    """Whether the application reaches `state` within `timeout` (a retry takes a moment)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = stored(engine, reference)
        if row is not None and row.state == state:
            return True
        time.sleep(0.05)
    return False


def test_allocate_is_refused_while_a_batch_of_application_events_is_filling(
    harness: Harness,
) -> None:
    harness.call("create_round", "grade_1", 2027)
    harness.call("open_round", ROUND)
    harness.call("close_round", ROUND)

    # Taken off the queue at once, applied when the batch's wait is over (half a second):
    # the queue's ready count no longer shows it, the service still does.
    harness.bus.publish_event("registration", verified(REF))
    time.sleep(0.1)

    with pytest.raises(IntakeNotComplete, match="1 application events wait"):
        harness.call("allocate", ROUND)
    assert eventually_in(harness.engine, REF, "verified")
