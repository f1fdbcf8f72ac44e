"""Reading a round's results: a child's result with its explanation, a school's intake,
waitlist positions, statistics and the export.

Results become visible to parents and schools when the round is published; the department
sees the preview (statistics, export) from `allocated` on.
"""

from __future__ import annotations

import zlib
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from services.allocation import rounds
from services.allocation.engine import seats
from services.allocation.exceptions import InvalidTransition, OfferNotFound, SchoolNotFound
from services.allocation.models import ExportChunk, Placement, Round, RoundSchool, School
from services.allocation.seatstore import SeatStore

PUBLISHED = ("published", "finalized")
PREVIEWED = ("allocated", *PUBLISHED)


def get_result(session: Session, reference: str) -> dict[str, Any] | None:
    """A child's published result, explanation, waitlist positions and offer; None before."""
    placement = session.get(Placement, reference)
    if placement is None:
        return None
    round_ = rounds.get_round(session, placement.round_id)
    if round_.status not in PUBLISHED:
        return None
    store = SeatStore(session, round_.round_id)
    cutoffs = _cutoffs(session, round_.round_id)
    positions = dict(waitlist_positions(store, reference))
    explanation = []
    for rank, school in enumerate(placement.preferences, start=1):
        tier = placement.tiers[rank - 1] if rank <= len(placement.tiers) else None
        distance = placement.distances[rank - 1] if placement.distances else None
        explanation.append(
            {
                "rank": rank,
                "school_code": school,
                "outcome": _outcome(placement, rank, tier),
                "tier": tier,
                "lottery": placement.lottery if tier is not None else None,
                "distance_m": distance,
                "cutoff": cutoffs.get(school) if tier is not None else None,
                "waitlist_position": positions.get(school),
            }
        )
    seat = store.seat(reference)
    return {
        "reference": reference,
        "round_id": round_.round_id,
        "round_status": round_.status,
        "seed": round_.seed,
        "lottery": placement.lottery,
        "placement": {
            "school_code": placement.school_code,
            "placed_by": placement.placed_by,
            "rank": placement.rank,
            "reason": placement.reason,
            "pool": placement.pool,  # general or reserved seats; None when unplaced
        },
        "late": placement.late,  # accepted after close: placed after every on-time one
        "offer": {
            "status": str(seat.status),
            "school_code": seat.school,
            "deadline": seat.deadline.isoformat() if seat.deadline else None,
            "left_school": placement.left_school,  # the school declined, expired or rejected
            "reason": placement.leave_reason,  # the school's reason, when it rejected
        },
        "explanation": explanation,
        "waitlist": [{"school_code": s, "position": p} for s, p in positions.items()],
    }


def waitlist_positions(store: SeatStore, reference: str) -> list[tuple[str, int]]:
    """(school, 1-based position) for each school the child still waits for, best first."""
    seat = store.seat(reference)
    if seat.status not in seats.MAY_MOVE:
        return []
    state = store.state()
    ranked = seat.preferences
    above = ranked[: ranked.index(seat.school)] if seat.school in ranked else ranked
    found = ((school, seats.waitlist_position(state, reference, school)) for school in above)
    return [(school, position) for school, position in found if position is not None]


def positions_of(session: Session, reference: str) -> list[dict[str, Any]]:
    """The child's current waitlist positions in a published round."""
    round_id = session.scalar(select(Placement.round_id).where(Placement.reference == reference))
    if round_id is None or rounds.get_round(session, round_id).status not in PUBLISHED:
        raise OfferNotFound(reference)
    store = SeatStore(session, round_id)
    return [{"school_code": s, "position": p} for s, p in waitlist_positions(store, reference)]


def school_intake(session: Session, code: str, round_id: str | None = None) -> dict[str, Any]:
    """A school's allocated children (with their status) and its current waitlist."""
    school = session.get(School, code)
    if school is None:
        raise SchoolNotFound(code)
    round_ = _intake_round(session, school, round_id)
    store = SeatStore(session, round_.round_id)
    seats_row = session.get(RoundSchool, (round_.round_id, code))
    query = (
        select(
            Placement.reference,
            Placement.status,
            Placement.deadline,
            Placement.placed_by,
            Placement.seat_school,
            Placement.leave_reason,
            Placement.pool,
            Placement.late,
        )
        .where(
            Placement.round_id == round_.round_id,
            or_(Placement.seat_school == code, Placement.left_school == code),
        )
        .order_by(Placement.reference)
    )
    allocated = []
    for ref, status, deadline, placed_by, seat, reason, pool, late in session.execute(query):
        if status == "offered" and deadline is None:
            deadline = round_.offer_deadline  # offered at publication
        due = deadline.isoformat() if deadline and seat == code else None
        left = seat != code  # declined, expired or rejected here: kept, with the reason
        allocated.append(
            {
                "reference": ref,
                "status": status,
                "deadline": due,
                "placed_by": placed_by,
                "left": left,
                "reason": reason if left else None,
                "pool": pool,
                "late": late,
            }
        )
    waiting = seats.current_waitlist(store.state(), code)
    return {
        "school_code": code,
        "round_id": round_.round_id,
        "round_status": round_.status,
        "capacity": seats_row.capacity if seats_row else 0,
        "occupied": seats_row.occupied if seats_row else 0,
        "allocated": allocated,
        "waitlist": [{"reference": r, "position": i} for i, r in enumerate(waiting, start=1)],
    }


def round_stats(session: Session, round_id: str) -> dict[str, Any]:
    """The preview's statistics, and the seats held now once the round is published."""
    round_ = rounds.get_round(session, round_id)
    if round_.status not in PREVIEWED:
        raise InvalidTransition(f"{round_id} is {round_.status}; it has no results yet")
    query = (
        select(Placement.status, func.count())
        .where(Placement.round_id == round_id)
        .group_by(Placement.status)
    )
    statuses = {status: int(n) for status, n in session.execute(query)}  # counted by the DB
    return {
        "round_id": round_id,
        "status": round_.status,
        "preview_stale": round_.preview_stale,
        "statistics": round_.statistics,
        "statuses": statuses,
    }


def export_chunk(session: Session, round_id: str, index: int) -> dict[str, Any]:
    """One chunk of the results export; `next` is the index of the following one, or None."""
    round_ = rounds.get_round(session, round_id)
    if round_.status not in PREVIEWED:
        raise InvalidTransition(f"{round_id} is {round_.status}; it has no results yet")
    query = (
        select(ExportChunk.chunk, ExportChunk.data)
        .where(ExportChunk.round_id == round_id, ExportChunk.chunk >= index)
        .order_by(ExportChunk.chunk)
        .limit(2)
    )
    rows = session.execute(query).all()
    text = zlib.decompress(rows[0].data).decode() if rows and rows[0].chunk == index else ""
    return {"text": text, "next": rows[1].chunk if len(rows) > 1 else None}


def _outcome(placement: Placement, rank: int, tier: int | None) -> str:
    if tier is None:
        return "ignored" if placement.reason != "already_placed" else "not_considered"
    if placement.placed_by == "preference" and placement.rank is not None:
        if rank == placement.rank:
            return "admitted"
        return "rejected" if rank < placement.rank else "not_reached"
    return "rejected"


def _cutoffs(session: Session, round_id: str) -> dict[str, dict[str, Any] | None]:
    query = select(
        RoundSchool.school_code,
        RoundSchool.cutoff_tier,
        RoundSchool.cutoff_lottery,
        RoundSchool.cutoff_distance,
    ).where(RoundSchool.round_id == round_id)
    return {
        code: None if tier is None else {"tier": tier, "lottery": lottery, "distance_m": distance}
        for code, tier, lottery, distance in session.execute(query)
    }


def _intake_round(session: Session, school: School, round_id: str | None) -> Round:
    if round_id is not None:
        round_ = rounds.get_round(session, round_id)
        if round_.level != school.level or round_.status not in PUBLISHED:
            raise SchoolNotFound(f"{school.code} has no published intake in {round_id}")
        return round_
    query = (
        select(Round)
        .where(Round.level == school.level, Round.status.in_(PUBLISHED))
        # A real round first: a practice round shows only when asked for, or alone.
        .order_by(Round.practice, Round.year.desc(), Round.number.desc())
        .limit(1)
    )
    latest = session.scalars(query).first()
    if latest is None:
        raise SchoolNotFound(f"{school.code} has no published intake yet")
    return latest
