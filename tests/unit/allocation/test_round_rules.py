"""The round lifecycle's plain rules: transitions, options, intake refusals, carried seats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.allocation.domain import (
    RoundOptions,
    carried_capacity,
    intake_refusal,
    next_status,
    offer_deadline,
    require_previous_round,
    round_id_for,
)
from services.allocation.engine import Policy
from services.allocation.exceptions import InvalidRound, InvalidTransition
from shared.contracts.rounds import is_practice_round


@pytest.mark.parametrize(
    ("action", "current", "after"),
    [
        ("open", "draft", "open"),
        ("close", "open", "closed"),
        ("allocate", "closed", "allocated"),
        ("allocate", "allocated", "allocated"),
        ("publish", "allocated", "published"),
        ("finalize", "published", "finalized"),
    ],
)
def test_each_step_moves_the_round_one_status_on(action: str, current: str, after: str) -> None:
    assert next_status(action, current) == after


@pytest.mark.parametrize(
    ("action", "current"),
    [
        ("open", "open"),
        ("close", "draft"),
        ("allocate", "open"),
        ("allocate", "published"),
        ("publish", "closed"),
        ("finalize", "allocated"),
    ],
)
def test_a_step_out_of_order_is_refused_and_says_why(action: str, current: str) -> None:
    with pytest.raises(InvalidTransition, match=f"cannot {action} a round that is {current}"):
        next_status(action, current)


def test_a_second_round_has_its_own_readable_id() -> None:
    assert RoundOptions("grade_1", 2027).round_id == "2027-grade_1"
    assert RoundOptions("grade_6", 2027, number=2).round_id == "2027-grade_6-r2"
    assert round_id_for(2027, "kindergarten", 3) == "2027-kindergarten-r3"


def test_a_practice_round_can_never_take_a_real_rounds_id() -> None:
    practice = RoundOptions("grade_1", 2027, practice=True)

    assert practice.round_id == "practice-2027-grade_1"
    assert is_practice_round(practice.round_id)
    assert not is_practice_round(RoundOptions("grade_1", 2027).round_id)
    assert round_id_for(2027, "grade_1", 2, practice=True) == "practice-2027-grade_1-r2"


def test_the_round_options_become_the_engine_policy() -> None:
    options = RoundOptions(
        "grade_1", 2027, max_preferences=5, sibling_priority=True, twins_together=True
    )
    assert options.policy() == {
        "max_preferences": 5,
        "sibling_priority": True,
        "distance_tiebreak": False,
        "shared_sibling_lottery": False,
        "twins_together": True,
    }
    assert Policy.from_dict(options.policy()).twins_together


def test_options_out_of_range_are_refused_all_at_once() -> None:
    with pytest.raises(InvalidRound) as refused:
        RoundOptions("grade_9", 1999, max_preferences=0, offer_days=0)
    message = str(refused.value)
    for part in ("level", "year", "max_preferences", "offer_days"):
        assert part in message


def test_a_later_round_needs_the_earlier_one_published() -> None:
    require_previous_round(1, None)
    require_previous_round(2, "published")
    require_previous_round(2, "finalized")
    with pytest.raises(InvalidRound, match="needs round 1"):
        require_previous_round(2, None)
    with pytest.raises(InvalidRound, match="round 1 is allocated; publish it first"):
        require_previous_round(2, "allocated")


def test_allocation_runs_only_on_a_complete_intake() -> None:
    assert intake_refusal({"unverified": 0, "backlog": 0}, 0) is None
    assert intake_refusal({"unverified": 4, "backlog": 2}, 1) == (
        "4 applications are not verified yet; 2 submissions wait in registration's queue; "
        "1 application events wait in allocation's queue"
    )


def test_silence_is_never_taken_for_a_complete_intake() -> None:
    assert "registration did not answer" in str(intake_refusal(None, 0))
    assert "broker did not say" in str(intake_refusal({"unverified": 0, "backlog": 0}, None))


def test_a_later_round_gets_what_earlier_rounds_do_not_hold() -> None:
    assert carried_capacity(35, 30) == 5
    assert carried_capacity(35, 35) == 0
    assert carried_capacity(30, 33) == 0  # the school shrank below the seats already given


def test_an_offer_expires_after_the_rounds_offer_days() -> None:
    now = datetime(2027, 7, 1, 9, 0, tzinfo=UTC)
    assert offer_deadline(now, 7) == now + timedelta(days=7)


def test_options_of_the_wrong_type_are_refused() -> None:
    with pytest.raises(InvalidRound, match="true or false"):
        RoundOptions("grade_1", 2027, sibling_priority="yes")  # type: ignore[arg-type]
    with pytest.raises(InvalidRound, match="whole numbers"):
        RoundOptions("grade_1", 2027, offer_days=1.5)  # type: ignore[arg-type]
