"""What a (re)submission does to a child's one application in a round; the window's hours."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from services.registration.domain import (
    MAX_HOURS,
    Current,
    Outcome,
    Submission,
    Window,
    decide,
    hourly_series,
)
from shared.contracts.envelope import parse_message
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


OPEN = Window("open")
CLOSED = Window("closed")  # closed before windows had instants: its status decides


def test_a_first_submission_to_an_open_round_creates_the_application() -> None:
    assert decide(OPEN, None, submission()) is Outcome.CREATED


def test_nothing_is_accepted_once_the_round_is_closed() -> None:
    assert decide(CLOSED, None, submission()) is Outcome.REFUSED_ROUND_CLOSED
    current = stored(submission(), preferences=("TH-009",))
    assert decide(CLOSED, current, submission()) is Outcome.REFUSED_ROUND_CLOSED


def test_a_submission_stamped_before_the_close_instant_is_honoured_after_the_close() -> None:
    queued = submission()
    stamped = queued.submitted_at
    window = Window("closed", stamped - timedelta(days=3), stamped + timedelta(microseconds=1))
    assert decide(window, None, queued) is Outcome.CREATED


def test_a_submission_stamped_at_or_after_the_close_instant_is_refused_even_while_open() -> None:
    late = submission()
    stamped = late.submitted_at
    window = Window("open", stamped - timedelta(days=3), stamped)
    assert window.refusal_for(stamped) == "round_closed"
    assert decide(window, None, late) is Outcome.REFUSED_ROUND_CLOSED


def test_a_submission_stamped_before_the_opening_instant_is_refused_as_not_open() -> None:
    early = submission()
    stamped = early.submitted_at
    window = Window("open", stamped + timedelta(seconds=1), None)
    assert window.refusal_for(stamped) == "round_not_open"
    assert window.refusal_for(stamped + timedelta(seconds=1)) is None
    assert decide(window, None, early) is Outcome.REFUSED_ROUND_CLOSED


def test_a_late_application_is_created_only_after_the_close_and_only_once() -> None:
    late = submission(late_reason="moved into the ward after the deadline", late_accepted_by="d1")
    stamped = late.submitted_at
    closed = Window("closed", stamped - timedelta(days=3), stamped - timedelta(seconds=1))
    assert decide(closed, None, late) is Outcome.CREATED
    assert decide(closed, stored(late), late) is Outcome.UNCHANGED  # never amends
    still_open = Window("open", stamped - timedelta(days=3), stamped + timedelta(seconds=1))
    assert decide(still_open, None, late) is Outcome.UNCHANGED  # not late: nothing stored
    assert decide(closed, None, submission()) is Outcome.REFUSED_ROUND_CLOSED  # a parent's


def test_a_late_acceptance_travels_only_in_its_own_field() -> None:
    payload = {**factories.submit_application()["payload"]}
    payload["late"] = {"reason": "moved into the ward late", "accepted_by": "dept-1"}
    late = Submission.from_payload(
        parse_message({**factories.submit_application(), "payload": payload}).payload
    )
    assert (late.late_reason, late.late_accepted_by) == ("moved into the ward late", "dept-1")
    assert (
        Submission.from_payload(parse_message(factories.submit_application()).payload).late_reason
        is None
    )


def test_new_preferences_for_the_same_child_amend_the_application() -> None:
    current = stored(submission(), preferences=("TH-009",))

    assert decide(OPEN, current, submission()) is Outcome.AMENDED


def test_a_new_contact_address_also_amends() -> None:
    first = submission()
    moved = replace(first.guardian, email="new@example.com")

    assert decide(OPEN, stored(first), submission(guardian=moved)) is Outcome.AMENDED


def test_a_corrected_name_amends_so_it_is_checked_again() -> None:
    first = submission()

    assert decide(OPEN, stored(first), submission(child_name="Nguyễn Văn Ân")) is Outcome.AMENDED


def test_an_identical_resubmission_changes_nothing() -> None:
    assert decide(OPEN, stored(submission()), submission()) is Outcome.UNCHANGED


def test_submitting_again_after_withdrawing_takes_the_withdrawal_back() -> None:
    assert decide(OPEN, stored(submission(), withdrawn=True), submission()) is Outcome.AMENDED


def test_preference_order_matters() -> None:
    current = stored(submission(), preferences=("TH-002", "TH-001"))

    assert decide(OPEN, current, submission()) is Outcome.AMENDED


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
