"""Taking submissions off the queue in batches: store or amend each, then check it at once.

One transaction per batch: the applications, their verification and every event they cause
commit together, and the batch is acked only after that commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from services.registration.domain import Outcome, Refusal, Submission, decide
from services.registration.exceptions import RoundNotKnownYet
from services.registration.intake.audit import audit_submissions
from services.registration.models import Application, RoundView
from services.registration.register.adapter import PopulationRegister
from services.registration.store import (
    SERVICE,
    change_window,
    event_about,
    open_round,
    receipt,
    refuse,
    set_status,
)
from services.registration.verification.applications import verify_applications
from shared.contracts.envelope import Message
from shared.db.inbox import first_deliveries
from shared.db.outbox import stage_events

CONSUMER = "registration.submit_application"


def take_submissions(
    session: Session, register: PopulationRegister, messages: Sequence[Message]
) -> dict[Outcome, int]:
    """Apply a batch of `submit_application` commands; returns how many had each outcome."""
    fresh = first_deliveries(session, CONSUMER, [m.event_id for m in messages])
    messages = [m for m in messages if m.event_id in fresh]
    # A round's window events come in this queue too, behind every submission published
    # before them. They are applied first: a submission is judged by its stamp, so knowing
    # more of the window never changes a verdict that was right, it only corrects one.
    for message in messages:
        if message.type in WINDOW_EVENTS:
            _apply_window(session, message)
    if any(m.type in WINDOW_EVENTS for m in messages):
        session.flush()
    rounds = _rounds(session, {m.payload["round_id"] for m in messages if m.type == SUBMIT})
    batch = [(Submission.from_payload(m.payload), m) for m in messages if m.type == SUBMIT]
    # Each was answered 202: its audit entry commits with it (a redelivery adds none).
    audit_submissions(session, [m for _, m in batch])
    existing = _existing(session, {(s.round_id, s.citizen_id) for s, _ in batch})
    events: list[dict[str, Any]] = []
    to_check: list[tuple[Application, str]] = []
    received: list[tuple[Application, str]] = []
    outcomes = dict.fromkeys(Outcome, 0)
    for submission, message in batch:
        key = (submission.round_id, submission.citizen_id)
        current = existing.get(key)
        window = rounds[submission.round_id].window()
        outcome = decide(window, current.current() if current else None, submission)
        outcomes[outcome] += 1
        if outcome is Outcome.CREATED:
            current = existing[key] = _new_application(submission)
            session.add(current)
            received.append((current, message.correlation_id))
            to_check.append((current, message.correlation_id))
        elif outcome is Outcome.AMENDED and current is not None:
            _amend(current, submission)
            events.append(event_about("application_amended", current, message.correlation_id))
            to_check.append((current, message.correlation_id))
        elif outcome is Outcome.REFUSED_ROUND_CLOSED:
            # Only a gateway that did not know the window stamps a change outside it: the
            # family was told "received", so the refusal is stored, shown and notified.
            code = window.refusal_for(submission.submitted_at) or "round_closed"
            if current is None:
                current = existing[key] = _new_application(submission, status="refused")
                session.add(current)
            what = "submission" if current.status == "refused" else "amendment"
            refusal = Refusal(what, code, datetime.now(UTC))
            events.append(refuse(current, refusal, message.correlation_id))
    # Checked before the flush, so a new application is inserted once with its verdict:
    # without no_autoflush the checks' own queries would insert it first, and the verdict
    # would cost a second statement (an UPDATE) per application.
    with session.no_autoflush:
        with_receipt = {application.reference for application, _ in received}
        verdicts = verify_applications(session, register, to_check, with_receipt, rounds)
    events += [receipt(application, correlation) for application, correlation in received]
    events += verdicts
    session.flush()
    stage_events(session, SERVICE, events)
    return outcomes


SUBMIT = "submit_application"
WINDOW_EVENTS = ("round_opened", "round_window_changed", "round_closed")


def _apply_window(session: Session, message: Message) -> None:
    if message.type == "round_opened":
        open_round(session, message.payload)
    else:
        closed = "closed" if message.type == "round_closed" else None
        change_window(session, message.payload, status=closed)


def _rounds(session: Session, round_ids: set[str]) -> dict[str, RoundView]:
    rounds = {
        r.round_id: r
        for r in session.scalars(select(RoundView).where(RoundView.round_id.in_(round_ids)))
    }
    unknown = round_ids - rounds.keys()
    if unknown:
        # Its round_opened has not arrived yet (or never will): retried, then dead-lettered.
        raise RoundNotKnownYet(", ".join(sorted(unknown)))
    return rounds


def _existing(session: Session, keys: set[tuple[str, str]]) -> dict[tuple[str, str], Application]:
    if not keys:
        return {}
    query = (
        select(Application)
        .where(tuple_(Application.round_id, Application.citizen_id).in_(keys))
        .with_for_update()
    )
    return {(a.round_id, a.citizen_id): a for a in session.scalars(query)}


def _new_application(submission: Submission, status: str = "received") -> Application:
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
        status=status,
        status_changed_at=now,
        owner_id=submission.owner_id,
        help_point=submission.help_point,
        submitted_at=submission.submitted_at,
        late_reason=submission.late_reason,
        late_accepted_by=submission.late_accepted_by,
        updated_at=now,
    )


def _amend(application: Application, submission: Submission) -> None:
    # The first submitted_at stays. The amended application is checked again from scratch.
    application.child_name = submission.child_name
    application.date_of_birth = submission.date_of_birth
    application.preferences = list(submission.preferences)
    application.guardian_name = submission.guardian.full_name
    application.guardian_phone = submission.guardian.phone
    application.guardian_email = submission.guardian.email
    application.language = submission.guardian.language
    set_status(application, "received", datetime.now(UTC))
