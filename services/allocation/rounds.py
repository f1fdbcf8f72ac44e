"""Creating and moving rounds through their lifecycle, with the events each step causes.

Every step that changes a round locks its row (`SELECT ... FOR UPDATE` on PostgreSQL), so
two instances never interleave two steps of one round. SQLite ignores the clause; its one
connection per process and its database-wide write lock serialize writers instead.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from services.allocation.domain import (
    RoundOptions,
    next_status,
    require_previous_round,
    round_id_for,
)
from services.allocation.engine import seed_commitment
from services.allocation.exceptions import (
    InvalidRound,
    InvalidTransition,
    RoundBusy,
    RoundExists,
    RoundNotFound,
    RoundNotSettled,
)
from services.allocation.models import (
    EstimateChance,
    EstimateRun,
    EstimateSchool,
    ExportChunk,
    Placement,
    Round,
    RoundSchool,
    VerifiedApplication,
    WaitlistEntry,
)
from shared.contracts.envelope import make_message
from shared.db.outbox import stage_event

SERVICE = "allocation"
JOB_STATUS = {"allocate": ("closed", "allocated"), "publish": ("allocated",)}
# A job still marked after this long has died (its message went to the dead-letter queue):
# the department may ask for it again. A city's allocate job takes well under a minute.
STALE_JOB = timedelta(minutes=15)
# A window given as "now" by a clock a little behind ours is still now.
PAST_TOLERANCE = timedelta(minutes=1)


def create_round(session: Session, options: RoundOptions) -> Round:
    """A new round in `draft`; a later round needs the earlier one published."""
    if session.get(Round, options.round_id) is not None:
        raise RoundExists(options.round_id)
    if options.number > 1:
        earlier = round_id_for(options.year, options.level, options.number - 1, options.practice)
        previous = session.get(Round, earlier)
        require_previous_round(options.number, previous.status if previous else None)
    round_ = Round(
        round_id=options.round_id,
        level=options.level,
        year=options.year,
        number=options.number,
        status="draft",
        max_preferences=options.max_preferences,
        policy=options.policy(),
        offer_days=options.offer_days,
        created_at=datetime.now(UTC),
        preview_stale=False,
        practice=options.practice,
    )
    session.add(round_)
    session.flush()
    return round_


def open_round(
    session: Session,
    round_id: str,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    notice: timedelta = timedelta(0),
) -> Round:
    """`draft → open`, announcing `round_opened` with the window: submissions count from
    `opens_at` (a fixed date given in advance; default `notice` from now, so every gateway
    knows the instant before it comes) until `closes_at` (default none: until the department
    closes the round)."""
    now = datetime.now(UTC)
    if opens_at is not None and opens_at < now - PAST_TOLERANCE:
        raise InvalidRound("opens_at is in the past; leave it out to open now")
    if closes_at is not None and closes_at <= max(opens_at or now, now):
        raise InvalidRound("closes_at must come after opens_at and after now")
    round_ = get_round(session, round_id, lock=True)
    round_.status = next_status("open", round_.status)
    round_.opened_at = now
    round_.opens_at = opens_at or now + notice
    round_.closes_at = closes_at
    payload = {
        "round_id": round_.round_id,
        "level": round_.level,
        "year": round_.year,
        "max_preferences": round_.max_preferences,
        "practice": round_.practice,
        "opens_at": round_.opens_at,
        "closes_at": round_.closes_at,
    }
    stage_event(session, SERVICE, make_message("round_opened", payload))
    return round_


def close_round(session: Session, round_id: str, notice: timedelta = timedelta(0)) -> Round:
    """The department closes an open round: submissions stop at `closes_at`, `notice` from
    now (or sooner, if the window already ended sooner), so that every gateway learns the
    instant before it takes effect; the round is `closed` at that instant (`close_due`).
    With no notice it is `closed` at once."""
    round_ = get_round(session, round_id, lock=True)
    next_status("close", round_.status)
    now = datetime.now(UTC)
    closes_at = now + notice
    if round_.closes_at is None or round_.closes_at > closes_at:
        round_.closes_at = closes_at
    if round_.closes_at <= now:
        _finish_close(session, round_)  # `round_closed` carries the window itself
    else:
        stage_event(session, SERVICE, make_message("round_window_changed", _window(round_)))
    return round_


def close_due(session: Session, now: datetime, limit: int = 50) -> int:
    """Close every open round whose window has ended (fix its seed, announce it); how many."""
    query = (
        select(Round)
        .where(Round.status == "open", Round.closes_at <= now)
        .order_by(Round.round_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    due = list(session.scalars(query))
    for round_ in due:
        _finish_close(session, round_)
    return len(due)


def _finish_close(session: Session, round_: Round) -> None:
    """`open → closed` at the close instant: fix the lottery's secret seed for good, publish
    its commitment, announce it. No later step draws a seed again."""
    round_.status = next_status("close", round_.status)
    round_.closed_at = datetime.now(UTC)
    seed = secrets.token_bytes(32)
    round_.seed, round_.seed_commitment = seed.hex(), seed_commitment(seed)
    stage_event(session, SERVICE, make_message("round_closed", _window(round_)))


def _window(round_: Round) -> dict[str, object]:
    return {"round_id": round_.round_id, "opens_at": round_.opens_at, "closes_at": round_.closes_at}


def finalize_round(session: Session, round_id: str) -> Round:
    """`published → finalized`, once no offer awaits an answer; the waitlists close."""
    round_ = get_round(session, round_id, lock=True)
    next_status("finalize", round_.status)
    waiting = session.scalar(
        select(func.count())
        .select_from(Placement)
        .where(Placement.round_id == round_id, Placement.status == "offered")
    )
    if waiting:
        raise RoundNotSettled(f"{waiting} offers of {round_id} still await an answer")
    round_.status = "finalized"
    round_.finalized_at = datetime.now(UTC)
    return round_


# Everything allocation keeps about a round, children before the round itself.
ROUND_DATA = (
    EstimateChance,
    EstimateSchool,
    EstimateRun,
    ExportChunk,
    WaitlistEntry,
    Placement,
    RoundSchool,
    VerifiedApplication,
)


def discard_round(session: Session, round_id: str) -> None:
    """Wipe a practice round, whatever its status, and announce `round_discarded` so that
    registration and notification forget it too. A real round is never wiped."""
    round_ = get_round(session, round_id, lock=True)
    if not round_.practice:
        raise InvalidTransition(f"{round_id} is a real round; only a practice round is wiped")
    requested = round_.job_requested_at
    if round_.job is not None and requested and datetime.now(UTC) - requested < STALE_JOB:
        raise RoundBusy(f"the {round_.job} job of {round_id} is queued or running")
    for model in ROUND_DATA:
        session.execute(delete(model).where(model.round_id == round_id))
    session.delete(round_)
    stage_event(session, SERVICE, make_message("round_discarded", {"round_id": round_id}))


def request_job(session: Session, round_id: str, job: str) -> Round:
    """Queue the allocate or publish job of a round (the caller checked the intake)."""
    round_ = get_round(session, round_id, lock=True)
    allowed = JOB_STATUS[job]
    if round_.status not in allowed:
        raise InvalidTransition(f"cannot {job} a round that is {round_.status}")
    requested = round_.job_requested_at
    if round_.job is not None and requested and datetime.now(UTC) - requested < STALE_JOB:
        raise RoundBusy(f"the {round_.job} job of {round_id} is queued or running")
    if job == "publish" and round_.preview_stale:
        raise RoundBusy(f"applications of {round_id} changed since the preview; allocate again")
    round_.job, round_.job_requested_at, round_.job_error = job, datetime.now(UTC), None
    payload = {"round_id": round_id, "job": job}
    stage_event(session, SERVICE, make_message("round_job_requested", payload))
    return round_


def job_failed(session: Session, round_id: str, reason: str) -> None:
    """Record why a queued job did not run; the department sees it on the round."""
    round_ = get_round(session, round_id, lock=True)
    round_.job, round_.job_error = None, reason


def locked_published_rounds(session: Session) -> Iterator[tuple[Round, ColumnElement[Any]]]:
    """Each published round, locked for this transaction (ordering the caller with the seat
    steps), and the deadline of its offers: an offer's own, else the round's."""
    round_ids = session.scalars(select(Round.round_id).where(Round.status == "published")).all()
    for round_id in round_ids:
        round_ = get_round(session, round_id, lock=True)
        if round_.status == "published":
            yield round_, func.coalesce(Placement.deadline, round_.offer_deadline)


def get_round(session: Session, round_id: str, *, lock: bool = False) -> Round:
    """The round, locked for this transaction when `lock`; RoundNotFound otherwise."""
    round_ = session.get(Round, round_id, with_for_update=lock or None, populate_existing=lock)
    if round_ is None:
        raise RoundNotFound(round_id)
    return round_
