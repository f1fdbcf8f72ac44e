"""What a (re)submission does to a child's one application in a round."""

from __future__ import annotations

from dataclasses import replace

from services.registration.domain import Current, Outcome, Submission, decide
from shared.events import parse_message
from tests.support import factories


def submission(**changes: object) -> Submission:
    message = parse_message(factories.submit_application())
    return replace(Submission.from_payload(message.payload), **changes)  # type: ignore[arg-type]


def test_a_first_submission_to_an_open_round_creates_the_application() -> None:
    assert decide(True, None, submission()) is Outcome.CREATED


def test_nothing_is_accepted_once_the_round_is_closed() -> None:
    assert decide(False, None, submission()) is Outcome.REFUSED_ROUND_CLOSED
    current = Current(preferences=("TH-009",), guardian=submission().guardian)
    assert decide(False, current, submission()) is Outcome.REFUSED_ROUND_CLOSED


def test_new_preferences_for_the_same_child_amend_the_application() -> None:
    current = Current(preferences=("TH-009",), guardian=submission().guardian)

    assert decide(True, current, submission()) is Outcome.AMENDED


def test_a_new_contact_address_also_amends() -> None:
    first = submission()
    current = Current(preferences=first.preferences, guardian=first.guardian)
    moved = replace(first.guardian, email="new@example.com")

    assert decide(True, current, submission(guardian=moved)) is Outcome.AMENDED


def test_an_identical_resubmission_changes_nothing() -> None:
    first = submission()
    current = Current(preferences=first.preferences, guardian=first.guardian)

    assert decide(True, current, submission()) is Outcome.UNCHANGED


def test_preference_order_matters() -> None:
    first = submission()
    current = Current(preferences=("TH-002", "TH-001"), guardian=first.guardian)

    assert decide(True, current, first) is Outcome.AMENDED
