"""The publish job: offers get their deadline, and every child's outcome leaves as an event.

One transaction: the round turns `published` with the deadline of its offers, and one event per
application is staged in the outbox in bulk (`seat_offered`, `application_waitlisted` or
`application_unplaced`), so the outcomes are announced if and only if the round is published.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.allocation.bulk import stage_events
from services.allocation.domain import offer_deadline
from services.allocation.models import Placement, Round, WaitlistEntry

SERVICE = "allocation"


def publish_round(session: Session, round_: Round, now: datetime) -> dict[str, int]:
    """Publish the (locked, allocated) round's preview; returns the events staged by type."""
    round_id = round_.round_id
    deadline = offer_deadline(now, round_.offer_days)
    offered: list[dict[str, Any]] = []
    unplaced: list[dict[str, Any]] = []
    waitlisted: list[str] = []
    query = select(
        Placement.reference,
        Placement.status,
        Placement.school_code,
        Placement.rank,
        Placement.reason,
    ).where(Placement.round_id == round_id)
    for reference, status, school, rank, reason in session.execute(query):
        base = {"reference": reference, "round_id": round_id}
        if status == "offered":
            offer = {"school_code": school, "preference_rank": rank, "deadline": deadline}
            offered.append({**base, **offer, "moved_from": None})
        elif status == "waitlisted":
            waitlisted.append(reference)
        else:
            unplaced.append({**base, "reason": reason})
    positions = _positions(session, round_id)
    waiting = [
        {"reference": ref, "round_id": round_id, "positions": positions[ref]} for ref in waitlisted
    ]
    staged = {
        "seat_offered": stage_events(session, SERVICE, "seat_offered", offered),
        "application_waitlisted": stage_events(session, SERVICE, "application_waitlisted", waiting),
        "application_unplaced": stage_events(session, SERVICE, "application_unplaced", unplaced),
    }
    round_.status, round_.published_at, round_.offer_deadline = "published", now, deadline
    round_.job, round_.job_error = None, None
    return staged


def _positions(session: Session, round_id: str) -> dict[str, list[dict[str, Any]]]:
    """Published waitlist positions of every child without a seat."""
    query = (
        select(WaitlistEntry.reference, WaitlistEntry.school_code, WaitlistEntry.position)
        .join(Placement, Placement.reference == WaitlistEntry.reference)
        .where(WaitlistEntry.round_id == round_id, Placement.status == "waitlisted")
        .order_by(WaitlistEntry.reference, WaitlistEntry.school_code)
    )
    positions: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for reference, school, position in session.execute(query):
        positions[reference].append({"school_code": school, "position": position})
    return positions
