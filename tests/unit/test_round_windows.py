"""How a gateway worker judges "open": by its clock against windows it reloaded recently."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.windows import RoundWindows, WindowsUnknown, inside

T0 = datetime(2027, 6, 1, 1, 0, tzinfo=UTC)


class Allocation:
    """Stands in for the allocation RPC: what it answers now, and how often it was asked."""

    def __init__(self, *rounds: dict[str, Any]) -> None:
        self.rounds, self.calls, self.down = list(rounds), 0, False

    def __call__(self) -> list[dict[str, Any]]:
        self.calls += 1
        if self.down:
            raise ConnectionError("allocation is away")
        return [dict(r) for r in self.rounds]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def window(opens: datetime | None = T0, closes: datetime | None = None) -> dict[str, Any]:
    return {
        "round_id": "2027-grade_1",
        "status": "open",
        "level": "grade_1",
        "max_preferences": 3,
        "opens_at": opens.isoformat() if opens else None,
        "closes_at": closes.isoformat() if closes else None,
    }


def windows(allocation: Allocation, clock: Clock) -> RoundWindows:
    return RoundWindows(allocation, ttl=1.0, max_age=5.0, miss_age=0.25, clock=clock)


def test_the_window_is_half_open_opens_at_counts_closes_at_does_not() -> None:
    round_ = window(T0, T0 + timedelta(hours=1))
    assert inside(round_, T0)
    assert inside(round_, T0 + timedelta(minutes=59, seconds=59))
    assert not inside(round_, T0 + timedelta(hours=1))
    assert not inside(round_, T0 - timedelta(microseconds=1))
    assert not inside({**round_, "status": "closed"}, T0)


def test_a_scheduled_close_is_judged_by_the_clock_without_asking_again() -> None:
    allocation, clock = Allocation(window(T0, T0 + timedelta(seconds=10))), Clock()
    rounds = windows(allocation, clock)
    assert rounds.accepting("2027-grade_1", T0 + timedelta(seconds=9)) is not None
    asked = allocation.calls
    # Refused at the instant, from the list in hand: it is young, so it is not even reloaded.
    assert rounds.accepting("2027-grade_1", T0 + timedelta(seconds=10)) is None
    assert allocation.calls == asked


def test_a_round_opened_a_moment_ago_is_open_for_the_next_submission() -> None:
    allocation, clock = Allocation(), Clock()
    rounds = windows(allocation, clock)
    assert rounds.accepting("2027-grade_1", T0) is None  # not open yet: 409
    allocation.rounds = [window(T0)]  # the department opens it
    clock.now += 0.3  # past miss_age, far below the ttl
    assert rounds.accepting("2027-grade_1", T0) is not None


def test_misses_ask_allocation_at_most_once_per_miss_age() -> None:
    allocation, clock = Allocation(), Clock()
    rounds = windows(allocation, clock)
    for _ in range(100):
        assert rounds.accepting("2027-grade_1", T0) is None
    assert allocation.calls == 1


def test_a_list_older_than_max_age_is_reloaded_and_never_trusted_if_that_fails() -> None:
    allocation, clock = Allocation(window(T0)), Clock()
    rounds = windows(allocation, clock)
    assert rounds.accepting("2027-grade_1", T0) is not None
    allocation.down = True
    clock.now += 3  # past the ttl, within max_age: the failed refresh leaves the list
    assert rounds.accepting("2027-grade_1", T0) is not None
    clock.now += 3  # past max_age: nothing to judge by
    with pytest.raises(WindowsUnknown):
        rounds.accepting("2027-grade_1", T0)
    allocation.down = False
    assert rounds.accepting("2027-grade_1", T0) is not None


def test_the_age_counts_from_when_the_load_started() -> None:
    clock = Clock()

    def slow_load() -> list[dict[str, Any]]:
        clock.now += 6.0  # an RPC that took 6 s: its answer is already older than max_age
        return [window(T0)]

    rounds = RoundWindows(slow_load, ttl=1.0, max_age=5.0, clock=clock)
    with pytest.raises(WindowsUnknown):
        rounds.rounds()
