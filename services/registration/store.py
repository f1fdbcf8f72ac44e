"""Loading and saving registration state; the rules themselves are in `domain`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from services.registration.corrections.models import CorrectionRequest
from services.registration.domain import OUTCOME_STATUS, Refusal, hourly_series
from services.registration.exceptions import ApplicationNotFound
from services.registration.models import Application, LiveTally, RoundView, SchoolEntry
from shared.contracts.envelope import make_message
from shared.db.outbox import stage_event
from shared.db.tables import outbox

SERVICE = "registration"


def withdraw(session: Session, reference: str, stamped_at: datetime, correlation_id: str) -> bool:
    """Withdraw an application if the gateway stamped the request inside its round's window;
    False (stored on the application and announced) if it came too late."""
    application = session.get(Application, reference, with_for_update=True)
    if application is None:
        raise ApplicationNotFound(reference)
    round_view = session.get(RoundView, application.round_id)
    late = round_view.window().refusal_for(stamped_at) if round_view else "round_closed"
    if late is not None:
        refusal = Refusal("withdrawal", late, datetime.now(UTC))
        stage_event(session, SERVICE, refuse(application, refusal, correlation_id))
        return False
    if application.status != "withdrawn":
        set_status(application, "withdrawn", datetime.now(UTC))
        stage_event(
            session, SERVICE, event_about("application_withdrawn", application, correlation_id)
        )
    return True


def refuse(application: Application, refusal: Refusal, correlation_id: str) -> dict[str, Any]:
    """Keep a refusal on the application (the family sees it there) and the event that tells
    them; a refused first submission is the application, with status `refused`."""
    application.refusal = refusal.as_dict()
    application.updated_at = datetime.now(UTC)
    payload = {
        "reference": application.reference,
        "round_id": application.round_id,
        "reason": refusal.code,
        "what": refusal.what,
    }
    return make_message("application_refused", payload, correlation_id=correlation_id)


def receipt(application: Application, correlation_id: str) -> dict[str, Any]:
    """`application_received`, with the verdict when the check ran in the same transaction:
    the family then gets one notice, "received and checked", instead of two that may cross."""
    payload: dict[str, Any] = {
        "reference": application.reference,
        "round_id": application.round_id,
        "status": "received",
    }
    if application.status in ("verified", "rejected"):
        payload["verdict"] = application.status
    if application.status == "rejected":
        reasons = application.rejection_reasons or []
        payload["reasons"] = [{"field": r["field"], "code": r["code"]} for r in reasons]
    if application.help_point:  # the guardian's receipt tells them how to take it over
        payload["help_point"] = application.help_point
    return make_message("application_received", payload, correlation_id=correlation_id)


def open_round(session: Session, payload: dict[str, Any]) -> None:
    """Project `round_opened`: the round accepts submissions stamped inside its window.

    The window's events reach registration twice (their own queue, and the submissions'
    queue) and may cross: a late `round_opened` never reopens a closed round nor forgets
    a close instant already known.
    """
    round_view = session.get(RoundView, payload["round_id"])
    if round_view is None:
        round_view = RoundView(round_id=payload["round_id"], status="open")
        session.add(round_view)
    round_view.level = payload["level"]
    round_view.year = payload["year"]
    round_view.max_preferences = payload["max_preferences"]
    round_view.practice = payload["practice"]
    round_view.opens_at = payload.get("opens_at") or round_view.opens_at
    _close_by(round_view, payload.get("closes_at"))


def change_window(session: Session, payload: dict[str, Any], status: str | None = None) -> None:
    """Project `round_window_changed` (the department scheduled the close) or, with `status`
    closed, `round_closed`: submissions stamped before `closes_at` are still honoured."""
    round_view = session.get(RoundView, payload["round_id"])
    if round_view is None:
        return  # a round we never saw open: nothing was submitted to it here
    if payload.get("opens_at") is not None:
        round_view.opens_at = payload["opens_at"]
    _close_by(round_view, payload.get("closes_at"))
    if status is not None:
        round_view.status = status


def _close_by(round_view: RoundView, closes_at: datetime | None) -> None:
    # A close instant only ever moves earlier (a close is scheduled at most once, sooner).
    if closes_at is not None and (round_view.closes_at is None or closes_at < round_view.closes_at):
        round_view.closes_at = closes_at


def discard_round(session: Session, round_id: str) -> int:
    """Project `round_discarded` (practice rounds only): every application of the round and
    the round itself are deleted. Deleting twice deletes nothing: safe to redeliver."""
    gone = session.execute(delete(Application).where(Application.round_id == round_id))
    session.execute(delete(RoundView).where(RoundView.round_id == round_id))
    return int(gone.rowcount or 0)  # type: ignore[attr-defined]


def is_practice(session: Session, round_id: str) -> bool:
    """Whether the round is a practice round (as its `round_opened` said)."""
    round_view = session.get(RoundView, round_id)
    return bool(round_view and round_view.practice)


def applications_per_hour(session: Session, round_id: str) -> list[tuple[datetime, int]]:
    """How many of a round's applications were first submitted in each hour (UTC hours).

    Read from the running counts of submissions per minute (`intake/tallies.py`,
    kept with the applications in their transactions): a few thousand small rows, never a
    scan of a city's 250,000 applications. An amendment keeps the first `submitted_at`, so
    each child counts once, when the family first applied; a deleted one is taken back.
    """
    hour = func.substr(LiveTally.key, 1, 13)  # "2027-06-01T08:05" -> "2027-06-01T08"
    query = (
        select(hour, func.sum(LiveTally.n))
        .where(LiveTally.round_id == round_id, LiveTally.series == "submitted")
        .group_by(hour)
    )
    counts = {
        datetime.fromisoformat(f"{start}:00").replace(tzinfo=UTC): int(n)
        for start, n in session.execute(query)
        if n
    }
    return hourly_series(counts)


def replace_school_directory(session: Session, schools: list[dict[str, str]]) -> None:
    """Project `school_directory_updated`: the directory is replaced as a whole."""
    session.execute(delete(SchoolEntry))
    session.add_all(SchoolEntry(code=s["code"], level=s["level"]) for s in schools)


def apply_outcomes(session: Session, outcomes: Sequence[tuple[str, str, datetime]]) -> None:
    """Project a batch of allocation's outcome events (type, reference, when), in order, onto
    the applications' statuses: one query locks them all, in reference order."""
    references = sorted({reference for _, reference, _ in outcomes})
    query = select(Application).where(Application.reference.in_(references))
    locked = session.scalars(query.order_by(Application.reference).with_for_update())
    applications = {application.reference: application for application in locked}
    for event_type, reference, at in outcomes:
        application = applications.get(reference)
        if application is None:
            continue  # not ours (another deployment's round); nothing to show a parent
        changed = application.status_changed_at
        if changed is not None and changed > at:
            continue  # a newer status is already shown; this event arrived late
        set_status(application, OUTCOME_STATUS[event_type], at)


def applications_of(session: Session, owner_id: str) -> list[Application]:
    """Every application an account submitted, newest first."""
    query = select(Application).where(Application.owner_id == owner_id)
    return list(session.scalars(query.order_by(Application.submitted_at.desc())))


def intake_status(session: Session, round_id: str) -> dict[str, int]:
    """How many applications of a round wait for verification, and how many of registration's
    events are committed but not yet on the broker (allocation has not seen those yet)."""
    query = select(func.count()).select_from(Application)
    query = query.where(Application.round_id == round_id, Application.status == "received")
    unsent = session.scalar(select(func.count()).select_from(outbox))
    # A correction request awaiting its decision may still make an application verified.
    asked = select(func.count()).select_from(CorrectionRequest)
    asked = asked.where(
        CorrectionRequest.round_id == round_id, CorrectionRequest.status == "pending"
    )
    waiting = int(session.scalar(query) or 0) + int(session.scalar(asked) or 0)
    return {"unverified": waiting, "unsent_events": int(unsent or 0)}


def set_status(application: Application, status: str, at: datetime) -> None:
    """Change the status, remembering when."""
    application.status = status
    application.status_changed_at = at
    application.updated_at = datetime.now(UTC)


def event_about(event_type: str, application: Application, correlation_id: str) -> dict[str, Any]:
    """An event that names the application (and nothing personal about the child)."""
    payload: dict[str, Any] = {"reference": application.reference, "round_id": application.round_id}
    if event_type == "application_received":
        payload["status"] = application.status
    return make_message(event_type, payload, correlation_id=correlation_id)
