"""After publication: offer statuses and the freed-seat chain along the waitlists.

A seat freed by a decline, an expired offer, a school's rejection or a withdrawal goes to
the head of that school's waitlist: the first applicant, in priority order, who ranked the
school above the seat they hold now and is still waiting. That applicant's previous seat is
freed in turn, and so on, until a seat has nobody waiting for it and stays vacant.

Hanoi practice, kept here: an applicant who already *accepted* an offer still moves up when
a seat frees at a school they ranked higher (ranking it higher is their standing choice),
and stays `accepted` at the new school. Anyone else who moves gets a new `offered`. An
`enrolled` child never moves, and declined, expired, school-rejected or withdrawn
applicants are out of the round.

Each step returns a new state that overlays its changes on the previous one (a ChainMap)
instead of copying every mapping, so a step costs what the chain touches, not the size of
the round: the service backs the state with lazily loaded rows of a city-sized round.

One state machine, kept whole over its length: the statuses, which move leaves from which,
and the chain a freed seat starts read as one rule, and a change to one changes the others.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TypeVar

import numpy as np

from services.allocation.engine.model import Allocation


class SeatStatus(StrEnum):
    """Where an application stands after publication."""

    OFFERED = "offered"
    WAITLISTED = "waitlisted"  # no seat; waits on at least one waitlist
    UNPLACED = "unplaced"  # no seat and no waitlist
    ACCEPTED = "accepted"
    ENROLLED = "enrolled"
    DECLINED = "declined"
    EXPIRED = "expired"
    SCHOOL_REJECTED = "school_rejected"
    WITHDRAWN = "withdrawn"


HOLDS_SEAT = frozenset({SeatStatus.OFFERED, SeatStatus.ACCEPTED, SeatStatus.ENROLLED})
MAY_MOVE = frozenset(
    {SeatStatus.OFFERED, SeatStatus.ACCEPTED, SeatStatus.WAITLISTED, SeatStatus.UNPLACED}
)
# The statuses each leaving step may start from.
LEAVES_FROM = {
    SeatStatus.DECLINED: frozenset({SeatStatus.OFFERED, SeatStatus.ACCEPTED}),
    SeatStatus.EXPIRED: frozenset({SeatStatus.OFFERED}),
    SeatStatus.SCHOOL_REJECTED: frozenset({SeatStatus.OFFERED, SeatStatus.ACCEPTED}),
    SeatStatus.WITHDRAWN: MAY_MOVE,
}


K = TypeVar("K")
V = TypeVar("V")


class SeatTransitionError(ValueError):
    """The applicant's status does not allow that step."""


@dataclass(frozen=True, slots=True)
class Move:
    """One step of a chain: an applicant moved up; `from_school` None if they had no seat."""

    reference: str
    from_school: str | None
    to_school: str


@dataclass(frozen=True, slots=True)
class SeatState:
    """Seats and waitlists of a published round; `waitlists` keep publication order."""

    capacity: Mapping[str, int]
    occupied: Mapping[str, int]
    preferences: Mapping[str, tuple[str, ...]]
    waitlists: Mapping[str, tuple[str, ...]]
    school_of: Mapping[str, str | None]
    status: Mapping[str, SeatStatus]


@dataclass(frozen=True, slots=True)
class Chain:
    """What a freed seat caused: the moves, in order, and the state after them."""

    moves: tuple[Move, ...]
    state: SeatState


def initial_state(allocation: Allocation) -> SeatState:
    """The state at publication: everyone placed is offered, the rest wait or are unplaced."""
    inst = allocation.instance
    codes = [s.code for s in inst.schools]
    refs = [a.reference for a in inst.applicants]
    school = allocation.school.tolist()
    members = allocation.waitlist.tolist()
    starts = allocation.waitlist_start.tolist()
    waitlists = {
        c: tuple(refs[a] for a in members[starts[s] : starts[s + 1]]) for s, c in enumerate(codes)
    }
    waiting = np.zeros(len(refs), dtype=np.bool_)
    waiting[allocation.waitlist] = True
    status = {
        ref: SeatStatus.OFFERED
        if school[a] >= 0
        else SeatStatus.WAITLISTED
        if waiting[a]
        else SeatStatus.UNPLACED
        for a, ref in enumerate(refs)
    }
    counts = np.bincount(allocation.school[allocation.school >= 0], minlength=len(codes))
    return SeatState(
        capacity={s.code: s.capacity for s in inst.schools},
        occupied=dict(zip(codes, counts.tolist(), strict=True)),
        preferences={
            ref: tuple(codes[s] for s in row if s >= 0)
            for ref, row in zip(refs, inst.pref.tolist(), strict=True)
        },
        waitlists=waitlists,
        school_of={ref: codes[s] if s >= 0 else None for ref, s in zip(refs, school, strict=True)},
        status=status,
    )


def accept(state: SeatState, reference: str) -> SeatState:
    """The parent accepts the offer they hold."""
    return _set_status(state, reference, {SeatStatus.OFFERED}, SeatStatus.ACCEPTED)


def enroll(state: SeatState, reference: str) -> SeatState:
    """The school confirms an accepted child, who then no longer moves."""
    return _set_status(state, reference, {SeatStatus.ACCEPTED}, SeatStatus.ENROLLED)


def decline(state: SeatState, reference: str) -> Chain:
    """The parent declines; the seat goes down the waitlist."""
    return leave(state, reference, SeatStatus.DECLINED)


def expire(state: SeatState, reference: str) -> Chain:
    """The offer's deadline passed unanswered; the seat goes down the waitlist."""
    return leave(state, reference, SeatStatus.EXPIRED)


def school_reject(state: SeatState, reference: str) -> Chain:
    """The school rejects the child after checking papers; the seat goes down the waitlist."""
    return leave(state, reference, SeatStatus.SCHOOL_REJECTED)


def withdraw(state: SeatState, reference: str) -> Chain:
    """The parent withdraws the application; any seat held goes down the waitlist."""
    return leave(state, reference, SeatStatus.WITHDRAWN)


def leave(state: SeatState, reference: str, status: SeatStatus, *, pass_on: bool = True) -> Chain:
    """The applicant leaves the round with `status`; any seat they held is passed on.

    With `pass_on` False (the waitlists are closed) the seat is left vacant.
    """
    allowed = LEAVES_FROM.get(status)
    if allowed is None or state.status[reference] not in allowed:
        raise SeatTransitionError(f"{state.status[reference]} cannot become {status}")
    school = state.school_of[reference]
    occupied = {} if school is None else {school: state.occupied[school] - 1}
    state = replace(
        state,
        occupied=overlay(state.occupied, occupied),
        school_of=overlay(state.school_of, {reference: None}),
        status=overlay(state.status, {reference: status}),
    )
    if school is None or not pass_on:
        return Chain((), state)
    return free_seat(state, school)


def free_seat(state: SeatState, school: str) -> Chain:
    """Fill the free seats of `school` from its waitlist, and each seat that frees in turn."""
    school_of = overlay(state.school_of, {})
    status = overlay(state.status, {})
    occupied = overlay(state.occupied, {})
    moves: list[Move] = []
    pending = [school]
    while pending:
        s = pending.pop()
        while occupied[s] < state.capacity[s]:
            head = _head(state, s, school_of, status)
            if head is None:
                break
            previous = school_of[head]
            school_of[head] = s
            occupied[s] += 1
            if status[head] is not SeatStatus.ACCEPTED:
                status[head] = SeatStatus.OFFERED
            moves.append(Move(head, previous, s))
            if previous is not None:
                occupied[previous] -= 1
                pending.append(previous)
    new = replace(state, school_of=school_of, status=status, occupied=occupied)
    return Chain(tuple(moves), new)


def current_waitlist(state: SeatState, school: str) -> tuple[str, ...]:
    """References still waiting for `school`, head first."""
    return tuple(
        ref
        for ref in state.waitlists.get(school, ())
        if _waits(state, ref, school, state.school_of, state.status)
    )


def waitlist_position(state: SeatState, reference: str, school: str) -> int | None:
    """1-based place of an applicant among those still waiting for `school`, else None."""
    waiting = current_waitlist(state, school)
    return waiting.index(reference) + 1 if reference in waiting else None


def vacancies(state: SeatState) -> dict[str, int]:
    """Free seats per school that nobody on its waitlist can take (for a second round)."""
    return {
        s: cap - state.occupied[s] for s, cap in state.capacity.items() if cap > state.occupied[s]
    }


def _head(
    state: SeatState,
    school: str,
    school_of: Mapping[str, str | None],
    status: Mapping[str, SeatStatus],
) -> str | None:
    for ref in state.waitlists.get(school, ()):
        if _waits(state, ref, school, school_of, status):
            return ref
    return None


def _waits(
    state: SeatState,
    reference: str,
    school: str,
    school_of: Mapping[str, str | None],
    status: Mapping[str, SeatStatus],
) -> bool:
    """Still waiting: free to move, and ranks `school` above the seat held now, if any."""
    if status[reference] not in MAY_MOVE:
        return False
    prefs = state.preferences[reference]
    current = school_of[reference]
    if school not in prefs:
        return False
    if current is None or current not in prefs:
        return True
    return prefs.index(school) < prefs.index(current)


def overlay(base: Mapping[K, V], changes: Mapping[K, V]) -> ChainMap[K, V]:
    """`base` with `changes` on top, leaving `base` untouched; overlays never nest deeper
    than one level of changes, so lookups stay two dictionary probes."""
    if isinstance(base, ChainMap) and len(base.maps) == 2:
        return ChainMap({**base.maps[0], **changes}, base.maps[1])
    return ChainMap(dict(changes), base)  # type: ignore[arg-type]


def _set_status(
    state: SeatState, reference: str, allowed: set[SeatStatus], to: SeatStatus
) -> SeatState:
    if state.status[reference] not in allowed:
        raise SeatTransitionError(f"{state.status[reference]} cannot become {to}")
    return replace(state, status=overlay(state.status, {reference: to}))
