"""What a (re)submission does to a child's one application in a round."""

from __future__ import annotations

from dataclasses import replace

from services.registration.domain import Current, Outcome, Submission, decide
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
