"""What a (re)submission does to a child's one application in a round; the window's hours."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from services.registration.domain import (
    MAX_HOURS,
    Current,
    Outcome,
    Submission,
    decide,
    hourly_series,
)
from shared.events import parse_message
from tests.support import factories


def submission(**changes: object) -> Submission:
    message = parse_message(factories.submit_application())
    return replace(Submission.from_payload(message.payload), **changes)  # type: ignore[arg-type]


def stored(first: Submission, **changes: object) -> Current:
    """The application as `first` stored it, with `changes`."""
    current = Current(
        preferences=first.preferences,
        guardian=first.guardian,
        child_name=first.child_name,
        date_of_birth=first.date_of_birth,
    )
    return replace(current, **changes)  # type: ignore[arg-type]


def test_a_first_submission_to_an_open_round_creates_the_application() -> None:
    assert decide(True, None, submission()) is Outcome.CREATED


def test_nothing_is_accepted_once_the_round_is_closed() -> None:
    assert decide(False, None, submission()) is Outcome.REFUSED_ROUND_CLOSED
    current = stored(submission(), preferences=("TH-009",))
    assert decide(False, current, submission()) is Outcome.REFUSED_ROUND_CLOSED


def test_new_preferences_for_the_same_child_amend_the_application() -> None:
    current = stored(submission(), preferences=("TH-009",))

    assert decide(True, current, submission()) is Outcome.AMENDED


def test_a_new_contact_address_also_amends() -> None:
    first = submission()
    moved = replace(first.guardian, email="new@example.com")

    assert decide(True, stored(first), submission(guardian=moved)) is Outcome.AMENDED


def test_a_corrected_name_amends_so_it_is_checked_again() -> None:
    first = submission()

    assert decide(True, stored(first), submission(child_name="Nguyễn Văn Ân")) is Outcome.AMENDED


def test_an_identical_resubmission_changes_nothing() -> None:
    assert decide(True, stored(submission()), submission()) is Outcome.UNCHANGED


def test_submitting_again_after_withdrawing_takes_the_withdrawal_back() -> None:
    assert decide(True, stored(submission(), withdrawn=True), submission()) is Outcome.AMENDED


def test_preference_order_matters() -> None:
    current = stored(submission(), preferences=("TH-002", "TH-001"))

    assert decide(True, current, submission()) is Outcome.AMENDED


H = datetime(2027, 6, 1, 1, tzinfo=UTC)  # 08:00 in Hanoi, opening morning


def test_applications_per_hour_fill_the_quiet_hours_with_zero() -> None:
    counts = {H: 120, H + timedelta(hours=3): 7}

    assert hourly_series(counts) == [
        (H, 120),
        (H + timedelta(hours=1), 0),
        (H + timedelta(hours=2), 0),
        (H + timedelta(hours=3), 7),
    ]


def test_a_round_without_applications_has_no_hours() -> None:
    assert hourly_series({}) == []


def test_a_very_long_window_shows_its_last_sixty_days() -> None:
    last = H + timedelta(days=90)

    series = hourly_series({H: 5, last: 9})

    assert len(series) == MAX_HOURS
    assert series[-1] == (last, 9)
    assert series[0] == (last - timedelta(hours=MAX_HOURS - 1), 0)
