"""After publication: parents answer offers, schools review, offers expire, seats chain.

Each step locks the round's row first, so freed-seat chains of one round never interleave,
whichever instance or greenthread runs them (PostgreSQL `SELECT ... FOR UPDATE`; on SQLite
the process's one connection and the database write lock serialize them). The rules live
in `engine.seats`; this module loads the state they need, saves what changed and stages one
event per change: the leaving event, then a `seat_offered` with `moved_from` for each move.
A published round passes freed seats down its waitlists; a finalized one leaves them vacant.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.allocation import rounds
from services.allocation.domain import offer_deadline
from services.allocation.engine import seats
from services.allocation.engine.seats import Chain, SeatState, SeatStatus, SeatTransitionError
from services.allocation.exceptions import OfferNotFound, SeatConflict
from services.allocation.models import Placement, Round
from services.allocation.seatstore import SeatStore
from shared.contracts.envelope import make_message
from shared.db.outbox import stage_event

SERVICE = "allocation"
LEAVING_EVENT = {
    SeatStatus.DECLINED: "offer_declined",
    SeatStatus.EXPIRED: "offer_expired",
    SeatStatus.SCHOOL_REJECTED: "school_rejected",
}
CHAINS = ("published",)
AFTER_PUBLICATION = ("published", "finalized")


def accept_offer(session: Session, reference: str, now: datetime) -> dict[str, Any]:
    """The parent accepts the seat offered to their child."""
    round_, store = _lock_round_and_seats(session, reference, ("published",))
    state = _transition_or_conflict(seats.accept, store.state(), reference)
    store.save(state, [reference], _deadline(round_, now))
    _announce(session, round_, "offer_accepted", reference, store.seat(reference).school)
    return seat_view(store, reference)


def decline_offer(session: Session, reference: str, now: datetime) -> dict[str, Any]:
    """The parent declines the seat they hold (offered or accepted); it goes down the waitlist."""
    round_, store = _lock_round_and_seats(session, reference, AFTER_PUBLICATION)
    _leave(session, round_, store, [reference], SeatStatus.DECLINED, now)
    return seat_view(store, reference)


def confirm_enrollment(
    session: Session, school: str, reference: str, now: datetime
) -> dict[str, Any]:
    """The school has checked the papers of an accepted child: enrolled, never moves again."""
    round_, store = _lock_round_and_seats(session, reference, AFTER_PUBLICATION, school=school)
    state = _transition_or_conflict(seats.enroll, store.state(), reference)
    store.save(state, [reference], _deadline(round_, now))
    _announce(session, round_, "enrollment_confirmed", reference, school)
    return seat_view(store, reference)


def reject_enrollment(
    session: Session, school: str, reference: str, reason: str, now: datetime
) -> dict[str, Any]:
    """The school rejects a child it was allocated, with a reason; the seat is passed on."""
    round_, store = _lock_round_and_seats(session, reference, AFTER_PUBLICATION, school=school)
    _leave(session, round_, store, [reference], SeatStatus.SCHOOL_REJECTED, now, reason)
    return seat_view(store, reference)


def withdraw(session: Session, round_: Round, reference: str, now: datetime) -> None:
    """A withdrawal after publication (the round is locked by the caller): any seat held is
    passed on. Registration announced the withdrawal; only the moves are announced here."""
    store = SeatStore(session, round_.round_id)
    try:
        store.seat(reference)
    except KeyError:
        return  # verified too late to take part in this round's allocation
    if store.seat(reference).status in seats.MAY_MOVE:
        _leave(session, round_, store, [reference], SeatStatus.WITHDRAWN, now)


def expire_overdue(session: Session, now: datetime, limit: int) -> int:
    """Expire up to `limit` offers per published round whose deadline has passed; returns
    the most expired in one round (`limit` means more may be waiting)."""
    expired = 0
    for round_, due in rounds.locked_published_rounds(session):
        round_id = round_.round_id
        query = (
            select(Placement.reference)
            .where(Placement.round_id == round_id, Placement.status == "offered", due <= now)
            .order_by(due, Placement.reference)
            .limit(limit)
        )
        overdue = list(session.scalars(query))
        if overdue:
            store = SeatStore(session, round_id)
            count = _leave(session, round_, store, overdue, SeatStatus.EXPIRED, now)
            expired = max(expired, count)
    return expired


def seat_view(store: SeatStore, reference: str) -> dict[str, Any]:
    """What the caller gets back after a step: the child's seat now."""
    seat = store.seat(reference)
    return {
        "reference": reference,
        "round_id": store.round_id,
        "status": str(seat.status),
        "school_code": seat.school,
        "deadline": seat.deadline.isoformat() if seat.deadline else None,
    }


def _lock_round_and_seats(
    session: Session, reference: str, allowed: tuple[str, ...], school: str | None = None
) -> tuple[Round, SeatStore]:
    round_id = session.scalar(select(Placement.round_id).where(Placement.reference == reference))
    if round_id is None:
        raise OfferNotFound(reference)
    round_ = rounds.get_round(session, round_id, lock=True)
    if round_.status not in allowed:
        raise SeatConflict(f"round {round_id} is {round_.status}")
    store = SeatStore(session, round_id)
    if school is not None and store.seat(reference).school != school:
        raise OfferNotFound(f"{reference} holds no seat at {school}")
    return round_, store


def _transition_or_conflict(
    action: Callable[[SeatState, str], SeatState], state: SeatState, ref: str
) -> SeatState:
    try:
        return action(state, ref)
    except SeatTransitionError as exc:
        raise SeatConflict(str(exc)) from None


def _leave(
    session: Session,
    round_: Round,
    store: SeatStore,
    references: list[str],
    status: SeatStatus,
    now: datetime,
    reason: str | None = None,
) -> int:
    """Each of `references` leaves with `status`, in order; the chains run on one state."""
    state, touched, left = store.state(), [], []
    moves: list[seats.Move] = []
    moved: set[str] = set()
    for ref in references:
        if ref in moved:
            continue  # moved up by an earlier chain of this batch: a fresh offer now
        school = state.school_of[ref]
        try:
            chain: Chain = seats.leave(state, ref, status, pass_on=round_.status in CHAINS)
        except SeatTransitionError as exc:
            raise SeatConflict(str(exc)) from None
        state = chain.state
        touched.append(ref)
        left.append((ref, school))
        moves.extend(chain.moves)
        moved.update(move.reference for move in chain.moves)
    store.save(state, touched + [move.reference for move in moves], _deadline(round_, now))
    departures = [
        {"reference": ref, "left_school": school, "leave_reason": reason}
        for ref, school in left
        if school is not None
    ]
    if departures:  # the school keeps them on its list, with why
        session.execute(update(Placement), departures)
    event = LEAVING_EVENT.get(status)
    for ref, school in left:
        if event is not None and school is not None:
            _announce(session, round_, event, ref, school, reason)
    deadline = offer_deadline(now, round_.offer_days)
    for move in moves:
        seat = store.seat(move.reference)
        payload = {
            "reference": move.reference,
            "round_id": round_.round_id,
            "school_code": move.to_school,
            "preference_rank": seat.preferences.index(move.to_school) + 1,
            "deadline": seat.deadline or deadline,
            "moved_from": move.from_school,
        }
        stage_event(session, SERVICE, make_message("seat_offered", payload))
        if seat.status is SeatStatus.ACCEPTED:  # an accepted child moves up and stays accepted
            _announce(session, round_, "offer_accepted", move.reference, move.to_school)
    return len(left)


def _announce(
    session: Session,
    round_: Round,
    event: str,
    reference: str,
    school: str | None,
    reason: str | None = None,
) -> None:
    payload = {"reference": reference, "round_id": round_.round_id, "school_code": school}
    stage_event(session, SERVICE, make_message(event, {**payload, "reason": reason}))


def _deadline(round_: Round, now: datetime) -> Callable[[str], datetime]:
    due = offer_deadline(now, round_.offer_days)
    return lambda _reference: due
