"""Creating and moving rounds through their lifecycle, with the events each step causes."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from services.allocation.domain import next_status
from services.allocation.exceptions import RoundNotFound
from services.allocation.models import Round
from shared.db.outbox import stage_event
from shared.events import make_message

SERVICE = "allocation"


def create_round(
    session: Session, round_id: str, level: str, year: int, max_preferences: int = 3
) -> Round:
    """A new round in `draft`."""
    round_ = Round(
        round_id=round_id,
        level=level,
        year=year,
        status="draft",
        max_preferences=max_preferences,
        created_at=datetime.now(UTC),
    )
    session.add(round_)
    return round_


def open_round(session: Session, round_id: str) -> Round:
    """`draft → open`, announcing `round_opened`."""
    round_ = _get(session, round_id)
    round_.status = next_status("open", round_.status)
    round_.opened_at = datetime.now(UTC)
    payload = {
        "round_id": round_.round_id,
        "level": round_.level,
        "year": round_.year,
        "max_preferences": round_.max_preferences,
    }
    stage_event(session, SERVICE, make_message("round_opened", payload))
    return round_


def _get(session: Session, round_id: str) -> Round:
    round_ = session.get(Round, round_id)
    if round_ is None:
        raise RoundNotFound(round_id)
    return round_
