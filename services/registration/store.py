"""Loading and saving registration state; the rules themselves are in `domain`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.registration.domain import Outcome, Submission, decide
from services.registration.exceptions import RoundNotKnownYet
from services.registration.models import Application, RoundView
from shared.db.outbox import stage_event
from shared.events import make_message

SERVICE = "registration"


def apply_submission(session: Session, submission: Submission, correlation_id: str) -> Outcome:
    """Create or amend the child's application for the round, staging the event it causes."""
    round_view = session.get(RoundView, submission.round_id)
    if round_view is None:
        raise RoundNotKnownYet(submission.round_id)
    existing = session.scalar(
        select(Application)
        .where(Application.round_id == submission.round_id)
        .where(Application.citizen_id == submission.citizen_id)
        .with_for_update()
    )
    outcome = decide(
        round_view.status == "open", existing.current() if existing else None, submission
    )
    if outcome is Outcome.CREATED:
        application = _new_application(submission)
        session.add(application)
        _announce(session, "application_received", application, correlation_id)
    elif outcome is Outcome.AMENDED and existing is not None:
        _amend(existing, submission)
        _announce(session, "application_amended", existing, correlation_id)
    return outcome


def open_round(session: Session, payload: dict[str, Any]) -> None:
    """Project `round_opened`: the round accepts submissions from now on."""
    round_view = session.get(RoundView, payload["round_id"]) or RoundView(
        round_id=payload["round_id"]
    )
    round_view.level = payload["level"]
    round_view.year = payload["year"]
    round_view.max_preferences = payload["max_preferences"]
    round_view.status = "open"
    session.add(round_view)


def close_round(session: Session, round_id: str) -> None:
    """Project `round_closed`: no more submissions or amendments."""
    round_view = session.get(RoundView, round_id)
    if round_view is not None:
        round_view.status = "closed"


def _new_application(submission: Submission) -> Application:
    now = datetime.now(UTC)
    return Application(
        reference=submission.reference,
        round_id=submission.round_id,
        citizen_id=submission.citizen_id,
        child_name=submission.child_name,
        date_of_birth=submission.date_of_birth,
        preferences=list(submission.preferences),
        guardian_name=submission.guardian.full_name,
        guardian_phone=submission.guardian.phone,
        guardian_email=submission.guardian.email,
        language=submission.guardian.language,
        status="received",
        submitted_at=submission.submitted_at,
        updated_at=now,
    )


def _amend(application: Application, submission: Submission) -> None:
    # The first submitted_at stays: submission time never changes priority, but it is kept.
    application.preferences = list(submission.preferences)
    application.guardian_name = submission.guardian.full_name
    application.guardian_phone = submission.guardian.phone
    application.guardian_email = submission.guardian.email
    application.language = submission.guardian.language
    application.updated_at = datetime.now(UTC)


def _announce(
    session: Session, event_type: str, application: Application, correlation_id: str
) -> None:
    payload: dict[str, Any] = {"reference": application.reference, "round_id": application.round_id}
    if event_type == "application_received":
        payload["status"] = application.status
    stage_event(session, SERVICE, make_message(event_type, payload, correlation_id=correlation_id))
