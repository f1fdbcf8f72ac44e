"""Allocation's copy of the applications, kept from registration's verdicts.

`application_verified` upserts by reference (an amended application is verified again and
replaces the earlier one); `application_rejected` and `application_withdrawn` take it out
of the allocation; `application_erased` blanks its personal data (`erasure`). Events are
applied in the order they happened (their `occurred_at`), so one that arrives late after a
newer one changes nothing.

They come in batches, one transaction each: the inbox is checked for the whole batch in one
statement, the batch's rounds are locked once and its stored rows read in one query, then
the events are applied one after the other in the order they arrived, exactly as they would
be one by one (a duplicate in the batch, or a redelivery, is skipped).

The round's row is locked while events are applied: shared (`FOR SHARE`) while the round
has no results, so batches of an open round apply side by side but wait for an allocate job
(which takes it exclusively); exclusive once results exist, because a change then marks the
preview stale or, after publication, passes a withdrawn child's seat down the waitlist.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.allocation import erasure, offers
from services.allocation.models import Round, VerifiedApplication
from shared.contracts.envelope import Message
from shared.contracts.rounds import is_practice_round
from shared.db.inbox import first_deliveries

CONSUMER = "allocation.applications"  # its rows in the inbox (processed_messages)

STATE = {
    "application_verified": "verified",
    "application_rejected": "rejected",
    "application_withdrawn": "withdrawn",
}
WITH_RESULTS = ("allocated", "published", "finalized")


class RoundMoved(Exception):
    """The round changed status between reading it and locking it; the event is retried."""


def apply_application_events(session: Session, messages: Sequence[Message], now: datetime) -> int:
    """Apply a batch of verdicts and erasures in arrival order, each event once; returns how
    many were new (a duplicate or a redelivery is not)."""
    fresh = first_deliveries(session, CONSUMER, [m.event_id for m in messages])
    todo = []
    for message in messages:
        if message.event_id in fresh:
            fresh.discard(message.event_id)  # the same event twice in one batch: once
            todo.append(message)
    round_ids = {m.payload["round_id"] for m in todo if m.type in STATE}
    # In one order, so that two batches never wait on each other's rounds.
    rounds = {round_id: _lock_round(session, round_id) for round_id in sorted(round_ids)}
    rows = _stored(session, {m.payload["reference"] for m in todo})
    for message in todo:
        if message.type == "application_erased":
            erasure.erase_application(session, message)
        else:
            _apply(session, message, rounds[message.payload["round_id"]], rows, now)
    return len(todo)


def _apply(
    session: Session,
    message: Message,
    round_: Round | None,
    rows: dict[str, VerifiedApplication],
    now: datetime,
) -> bool:
    """Apply one verdict to the batch's rows; False if it was older than what is stored."""
    payload = message.payload
    if round_ is None and is_practice_round(payload["round_id"]):
        return False  # a practice round wiped already: a late verdict must not bring it back
    row = rows.get(payload["reference"])
    if row is not None and row.as_of > message.occurred_at:
        return False
    if row is None:
        row = VerifiedApplication(reference=payload["reference"], round_id=payload["round_id"])
        rows[row.reference] = row
        session.add(row)
    row.state, row.as_of = STATE[message.type], message.occurred_at
    if message.type == "application_verified":
        row.citizen_id = payload["citizen_id"]
        row.ward_code = payload["ward_code"]
        row.household_id = payload["household_id"]
        row.priority_category = payload["priority_category"]
        row.preferences = list(payload["preferences"])
        row.lat, row.lon = payload.get("lat"), payload.get("lon")
        row.late = bool(payload.get("late", False))
    if round_ is None:
        return True
    if round_.status == "allocated":
        round_.preview_stale = True
    elif round_.status in ("published", "finalized") and message.type == "application_withdrawn":
        session.flush()
        offers.withdraw(session, round_, row.reference, now)
    return True


def _stored(session: Session, references: set[str]) -> dict[str, VerifiedApplication]:
    """The batch's stored rows, locked (in one order: batches never wait on each other)."""
    if not references:
        return {}
    query = (
        select(VerifiedApplication)
        .where(VerifiedApplication.reference.in_(references))
        .order_by(VerifiedApplication.reference)
        .with_for_update()
    )
    return {row.reference: row for row in session.scalars(query)}


def _lock_round(session: Session, round_id: str) -> Round | None:
    seen = session.get(Round, round_id)
    if seen is None:
        return None  # a round this deployment does not run; keep the row, nothing else
    exclusive = seen.status in WITH_RESULTS
    round_ = session.get(
        Round,
        round_id,
        with_for_update={"read": not exclusive},
        populate_existing=True,
    )
    assert round_ is not None
    if (round_.status in WITH_RESULTS) != exclusive:
        raise RoundMoved(f"{round_id} became {round_.status}; applying the event again")
    return round_
