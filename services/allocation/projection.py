"""Allocation's copy of the applications, kept from registration's verdicts.

`application_verified` upserts by reference (an amended application is verified again and
replaces the earlier one); `application_rejected` and `application_withdrawn` take it out
of the allocation. Events are applied in the order they happened (their `occurred_at`), so
one that arrives late after a newer one changes nothing.

The round's row is locked while an event is applied: shared (`FOR SHARE`) while the round
has no results, so events of an open round apply side by side but wait for an allocate job
(which takes it exclusively); exclusive once results exist, because a change then marks the
preview stale or, after publication, passes a withdrawn child's seat down the waitlist.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from services.allocation import offers
from services.allocation.models import Round, VerifiedApplication
from shared.contracts.envelope import Message
from shared.contracts.rounds import is_practice_round

STATE = {
    "application_verified": "verified",
    "application_rejected": "rejected",
    "application_withdrawn": "withdrawn",
}
WITH_RESULTS = ("allocated", "published", "finalized")


class RoundMoved(Exception):
    """The round changed status between reading it and locking it; the event is retried."""


def apply_application_event(session: Session, message: Message, now: datetime) -> bool:
    """Apply one of registration's verdicts; False if it was older than what is stored."""
    payload = message.payload
    round_ = _lock_round(session, payload["round_id"])
    if round_ is None and is_practice_round(payload["round_id"]):
        return False  # a practice round wiped already: a late verdict must not bring it back
    row = session.get(VerifiedApplication, payload["reference"], with_for_update=True)
    if row is not None and row.as_of > message.occurred_at:
        return False
    if row is None:
        row = VerifiedApplication(reference=payload["reference"], round_id=payload["round_id"])
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
