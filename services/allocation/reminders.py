"""Reminders before an offer expires: one `offer_expiring` per unanswered offer, staged in the
outbox in the transaction that marks the offer reminded, so it is announced exactly once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from services.allocation import rounds
from services.allocation.models import Placement
from shared.contracts.envelope import make_message
from shared.db.outbox import stage_events

SERVICE = "allocation"


def remind_due(session: Session, now: datetime, lead: timedelta, limit: int) -> int:
    """Stage reminders for up to `limit` offers per published round whose deadline falls
    within `lead` of `now`; returns the most staged in one round (`limit`: more may wait)."""
    most = 0
    # The round's lock orders this with the seat steps: an offer answered or moved meanwhile
    # is seen as it is now, never reminded after its answer.
    for round_, due in rounds.locked_published_rounds(session):
        round_id = round_.round_id
        query = (
            select(Placement.reference, Placement.seat_school, due)
            .where(
                Placement.round_id == round_id,
                Placement.status == "offered",
                due > now,
                due <= now + lead,
                or_(Placement.reminded_deadline.is_(None), Placement.reminded_deadline != due),
            )
            .order_by(due, Placement.reference)
            .limit(limit)
        )
        rows = session.execute(query).all()
        if not rows:
            continue
        messages = [
            make_message(
                "offer_expiring",
                {
                    "reference": reference,
                    "round_id": round_id,
                    "school_code": school,
                    "deadline": deadline,
                },
            )
            for reference, school, deadline in rows
        ]
        stage_events(session, SERVICE, messages)
        session.execute(
            update(Placement)
            .where(Placement.reference.in_([reference for reference, _, _ in rows]))
            .values(reminded_deadline=due)
            .execution_options(synchronize_session=False)
        )
        most = max(most, len(rows))
    return most
