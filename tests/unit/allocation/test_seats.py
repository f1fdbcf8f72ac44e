"""The freed-seat chain after publication, and the offer statuses that steer it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from services.allocation.engine import allocate
from services.allocation.engine.seats import (
    Chain,
    Move,
    SeatState,
    SeatStatus,
    SeatTransitionError,
    accept,
    current_waitlist,
    decline,
    enroll,
    expire,
    initial_state,
    school_reject,
    vacancies,
    waitlist_position,
    withdraw,
)
from tests.unit.allocation.builders import SEED, child, ids_by_lottery, school


def ladder() -> SeatState:
    """Four one-seat schools. By lottery TOP > X1 > X2 > X3 > X4, so deferred acceptance
    gives TOP A, X1 B, X2 C, X3 D, and X4 nothing; each waits one rung up."""
    top, x1, x2, x3, x4 = ids_by_lottery(5)
    schools = [school(code, 1, "W1") for code in "ABCD"]
    kids = [
        child("TOP", "W1", "A", citizen_id=top),
        child("X1", "W1", "A", "B", citizen_id=x1),
        child("X2", "W1", "B", "C", citizen_id=x2),
        child("X3", "W1", "C", "D", citizen_id=x3),
        child("X4", "W1", "D", citizen_id=x4),
    ]
    return initial_state(allocate(schools, kids, SEED))


CLIMB = (
    Move("X1", "B", "A"),
    Move("X2", "C", "B"),
    Move("X3", "D", "C"),
    Move("X4", None, "D"),
)


def test_initial_state_offers_every_placed_child_and_waitlists_the_rest() -> None:
    state = ladder()
    assert state.school_of == {"TOP": "A", "X1": "B", "X2": "C", "X3": "D", "X4": None}
    assert state.status["X1"] is SeatStatus.OFFERED
    assert state.status["X4"] is SeatStatus.WAITLISTED
    assert [current_waitlist(state, code) for code in "ABCD"] == [
        ("X1",),
        ("X2",),
        ("X3",),
        ("X4",),
    ]


def test_a_declined_seat_climbs_the_waitlists_four_hops() -> None:
    chain = decline(ladder(), "TOP")
    assert chain.moves == CLIMB
    assert chain.state.school_of == {"TOP": None, "X1": "A", "X2": "B", "X3": "C", "X4": "D"}
    assert chain.state.status["TOP"] is SeatStatus.DECLINED
    assert chain.state.status["X4"] is SeatStatus.OFFERED
    assert chain.state.occupied == {"A": 1, "B": 1, "C": 1, "D": 1}
    assert vacancies(chain.state) == {}


@pytest.mark.parametrize(
    ("leave", "status"),
    [
        (decline, SeatStatus.DECLINED),
        (expire, SeatStatus.EXPIRED),
        (school_reject, SeatStatus.SCHOOL_REJECTED),
    ],
)
def test_decline_expiry_and_school_rejection_all_free_the_seat(
    leave: Callable[[SeatState, str], Chain], status: SeatStatus
) -> None:
    chain = leave(ladder(), "TOP")
    assert chain.moves == CLIMB
    assert chain.state.status["TOP"] is status


def test_a_withdrawn_waiting_child_frees_nothing_and_leaves_the_waitlist() -> None:
    chain = withdraw(ladder(), "X4")
    assert chain.moves == ()
    assert current_waitlist(chain.state, "D") == ()
    assert decline(chain.state, "TOP").moves == CLIMB[:3]
    assert vacancies(decline(chain.state, "TOP").state) == {"D": 1}


def test_school_rejection_after_acceptance_frees_the_seat() -> None:
    chain = school_reject(accept(ladder(), "TOP"), "TOP")
    assert chain.moves == CLIMB


def test_an_accepted_child_still_moves_up_and_stays_accepted() -> None:
    state = accept(ladder(), "X1")
    chain = decline(state, "TOP")
    assert chain.moves[0] == Move("X1", "B", "A")
    assert chain.state.status["X1"] is SeatStatus.ACCEPTED
    assert chain.state.status["X2"] is SeatStatus.OFFERED


def test_an_enrolled_child_never_moves_and_the_seat_stays_vacant() -> None:
    state = enroll(accept(ladder(), "X1"), "X1")
    chain = decline(state, "TOP")
    assert chain.moves == ()
    assert chain.state.school_of["X1"] == "B"
    assert vacancies(chain.state) == {"A": 1}


def test_children_who_left_the_round_are_skipped() -> None:
    first = decline(ladder(), "X1")
    assert first.moves == (Move("X2", "C", "B"), Move("X3", "D", "C"), Move("X4", None, "D"))
    second = decline(first.state, "TOP")
    assert second.moves == ()
    assert vacancies(second.state) == {"A": 1}
    assert current_waitlist(second.state, "A") == ()


def test_waitlist_positions_follow_the_moves() -> None:
    best, second, third = ids_by_lottery(3)
    schools = [school("A", 1, "W1"), school("B", 2, "W1")]
    kids = [
        child("HOLD", "W1", "A", citizen_id=best),
        child("P1", "W1", "A", "B", citizen_id=second),
        child("P2", "W1", "A", "B", citizen_id=third),
    ]
    state = initial_state(allocate(schools, kids, SEED))
    assert waitlist_position(state, "P2", "A") == 2
    chain = decline(state, "HOLD")
    assert chain.moves == (Move("P1", "B", "A"),)
    assert waitlist_position(chain.state, "P2", "A") == 1  # P1 left the queue by moving in
    assert waitlist_position(chain.state, "P1", "A") is None
    assert vacancies(chain.state) == {"B": 1}


@pytest.mark.parametrize(
    ("step", "reference"),
    [
        (expire, "X4"),  # a waitlisted child holds no offer
        (decline, "X4"),
        (lambda s, r: expire(accept(s, r), r), "X1"),  # an accepted offer does not expire
    ],
)
def test_steps_the_status_does_not_allow_are_refused(
    step: Callable[[SeatState, str], object], reference: str
) -> None:
    with pytest.raises(SeatTransitionError):
        step(ladder(), reference)


def test_enrolment_needs_an_accepted_offer() -> None:
    with pytest.raises(SeatTransitionError):
        enroll(ladder(), "X1")


class Recorded(dict):  # type: ignore[type-arg]
    """A mapping that refuses to be listed or copied whole, and records what was read."""

    def __init__(self, data: dict[str, object]) -> None:
        super().__init__(data)
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> object:
        self.read.add(key)
        return super().__getitem__(key)

    def __iter__(self) -> Any:
        raise AssertionError("the whole mapping was listed")

    def keys(self) -> Any:
        raise AssertionError("the whole mapping was copied")


def test_a_step_reads_only_what_its_chain_touches_and_copies_nothing() -> None:
    whole = ladder()
    bystanders = {f"Z{i}": SeatStatus.OFFERED for i in range(1000)}
    status = Recorded({**whole.status, **bystanders})
    state = SeatState(
        capacity=whole.capacity,
        occupied=whole.occupied,
        preferences=Recorded(dict(whole.preferences)),
        waitlists=Recorded(dict(whole.waitlists)),
        school_of=Recorded(dict(whole.school_of)),
        status=status,
    )

    chain = decline(state, "TOP")

    assert chain.moves == CLIMB
    assert status.read == {"TOP", "X1", "X2", "X3", "X4"}
    assert (
        whole.status["X1"] is SeatStatus.OFFERED and chain.state.status["X1"] is SeatStatus.OFFERED
    )
    assert state.school_of["X4"] is None and chain.state.school_of["X4"] == "D"
