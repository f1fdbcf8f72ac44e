"""The reminder before an offer expires: allocation's timer announces `offer_expiring` once per
unanswered offer, some hours before its deadline, through its outbox (real broker, PostgreSQL).

The round is run by the allocation harness (tests/support/allocation_harness.py; its timer
checks every 0.2 s and reminds 24 hours ahead); the deadlines are moved near by writing
them, as time would.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from services.allocation.models import Placement, Round
from tests.support.allocation_harness import ROUND, Harness, events, ladder
from tests.support.broker import tap

pytestmark = pytest.mark.integration


def test_an_unanswered_offer_is_reminded_once_when_its_deadline_nears(harness: Harness) -> None:
    ladder(harness)  # P holds an offer at SCH-A, Q at SCH-B, both until the round's deadline
    reminders = tap(harness.amqp_uri, "allocation", "offer_expiring")
    harness.call("accept_offer", "TSP0000000001")  # an answered offer needs no reminder
    deadline = datetime.now(UTC) + timedelta(hours=2)
    with harness.session() as session, session.begin():
        session.execute(
            update(Round).where(Round.round_id == ROUND).values(offer_deadline=deadline)
        )

    [reminder] = events(harness, reminders, 2, timeout=3)  # some fifteen timer ticks

    assert reminder == {
        "reference": "TSQ0000000001",
        "round_id": ROUND,
        "school_code": "SCH-B",
        "deadline": reminder["deadline"],
    }
    assert datetime.fromisoformat(reminder["deadline"]) == deadline
    assert harness.placement("TSQ0000000001").reminded_deadline == deadline
    assert harness.placement("TSP0000000001").reminded_deadline is None


def test_an_offer_far_from_its_deadline_is_not_reminded(harness: Harness) -> None:
    ladder(harness)  # the round's offers run for 7 days
    reminders = tap(harness.amqp_uri, "allocation", "offer_expiring")

    assert events(harness, reminders, 1, timeout=2) == []


def test_a_child_moved_up_to_a_new_offer_is_reminded_of_that_one_too(harness: Harness) -> None:
    ladder(harness)
    reminders = tap(harness.amqp_uri, "allocation", "offer_expiring")
    set_deadline(harness, "TSQ0000000001", hours=2)
    [first] = events(harness, reminders, 1)
    assert (first["reference"], first["school_code"]) == ("TSQ0000000001", "SCH-B")

    harness.call("decline_offer", "TSP0000000001")  # Q moves up to SCH-A: a new offer
    set_deadline(harness, "TSQ0000000001", hours=3)

    [second] = events(harness, reminders, 2, timeout=3)
    assert (second["reference"], second["school_code"]) == ("TSQ0000000001", "SCH-A")
    assert datetime.fromisoformat(second["deadline"]) > datetime.fromisoformat(first["deadline"])


def set_deadline(harness: Harness, reference: str, **until: Any) -> None:
    """Move one offer's deadline to `until` from now."""
    with harness.session() as session, session.begin():
        session.execute(
            update(Placement)
            .where(Placement.reference == reference)
            .values(deadline=datetime.now(UTC) + timedelta(**until))
        )
