"""Correction requests, stored: a family asks, the department approves or refuses.

An approval writes the corrected values to the register (`register_people`, with a
`register_corrections` row naming the fields) and checks the application again through the
normal verification (`verification/applications.py`): its `application_verified` or
`application_rejected` leaves through the outbox like any other verdict. Every decision is
announced (`correction_decided`) and appended to the audit log, in the same transaction.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, undefer

from services.registration.corrections import rules
from services.registration.corrections.models import CorrectionRequest, RegisterCorrection
from services.registration.exceptions import (
    ApplicationNotFound,
    CorrectionAlreadyDecided,
    CorrectionNotAllowed,
    CorrectionNotFound,
    InvalidCorrection,
)
from services.registration.intake.audit import audit_change
from services.registration.models import Application, RoundView
from services.registration.register.adapter import PopulationRegister
from services.registration.register.models import RegisterPerson
from services.registration.store import SERVICE
from services.registration.verification.applications import verify_applications
from shared.contracts.envelope import make_message
from shared.corrections import evidence_problems, evidence_type
from shared.db.outbox import stage_event, stage_events


def file_request(
    session: Session,
    reference: str,
    owner_id: str,
    text: str,
    evidence: bytes,
    correlation_id: str,
) -> CorrectionRequest:
    """Store a family's request with its evidence and announce it; refuses (409) a request
    the rules do not allow now, and (400) evidence that is not a photo or PDF."""
    problems = evidence_problems(evidence)
    if problems:
        raise InvalidCorrection({"evidence": problems})
    application = session.get(Application, reference, with_for_update=True)
    if application is None or application.owner_id != owner_id or application.erased_at:
        raise ApplicationNotFound(reference)
    round_view = session.get(RoundView, application.round_id)
    now = datetime.now(UTC)
    round_open = round_view is not None and round_view.window().refusal_for(now) is None
    pending = session.scalar(
        select(func.count())
        .select_from(CorrectionRequest)
        .where(CorrectionRequest.reference == reference, CorrectionRequest.status == "pending")
    )
    refusal = rules.filing_refusal(
        application.status, application.rejection_reasons, round_open, bool(pending)
    )
    if refusal is not None:
        raise CorrectionNotAllowed(refusal)
    request = CorrectionRequest(
        request_id=str(uuid.uuid4()),
        reference=reference,
        round_id=application.round_id,
        owner_id=owner_id,
        codes=rules.register_codes(application.rejection_reasons),
        text=text,
        evidence=evidence,
        evidence_type=evidence_type(evidence),
        evidence_bytes=len(evidence),
        evidence_sha256=hashlib.sha256(evidence).hexdigest(),
        status="pending",
        requested_at=now,
    )
    session.add(request)
    stage_event(session, SERVICE, _event("correction_requested", request, correlation_id))
    return request


def decide(
    session: Session,
    register: PopulationRegister,
    request_id: str,
    decision: dict[str, Any],
    actor: dict[str, Any],
    correlation_id: str,
) -> CorrectionRequest:
    """Approve (correct the register, check the application again) or refuse a pending
    request; `decision` is `{"decision", "reason", "register": {...}}`, `actor` the
    reviewer's `{"actor_id", "role", "ip"}`."""
    request = session.get(CorrectionRequest, request_id, with_for_update=True)
    if request is None:
        raise CorrectionNotFound(request_id)
    if request.status != "pending":
        raise CorrectionAlreadyDecided(request_id)
    now = datetime.now(UTC)
    approved = decision["decision"] == "approved"
    request.status, request.decided_at = decision["decision"], now
    request.decided_by, request.reason = actor["actor_id"], decision.get("reason")
    application = session.get(Application, request.reference, with_for_update=True)
    if application is None:
        raise CorrectionNotFound(request_id)
    if approved:
        _correct_register(session, register, request, application, decision, actor, now)
        if application.status == "rejected":
            verdicts = verify_applications(session, register, [(application, correlation_id)])
            stage_events(session, SERVICE, verdicts)
    request.outcome = application.status
    stage_event(session, SERVICE, _event("correction_decided", request, correlation_id))
    objects = {
        "reference": request.reference,
        "round_id": request.round_id,
        "request_id": request_id,
        "outcome": request.outcome,
    }
    audit_change(session, f"correction.{request.status}", actor, objects, correlation_id)
    return request


def _correct_register(
    session: Session,
    register: PopulationRegister,
    request: CorrectionRequest,
    application: Application,
    decision: dict[str, Any],
    actor: dict[str, Any],
    now: datetime,
) -> None:
    citizen_id = application.citizen_id
    record = register.lookup(citizen_id)
    change = rules.register_change(record, citizen_id, decision.get("register") or {})
    if isinstance(change, dict):
        raise InvalidCorrection(change)
    person = session.get(RegisterPerson, citizen_id) or RegisterPerson()
    for name, value in change.values.items():
        setattr(person, name, value)
    session.add(person)
    session.add(
        RegisterCorrection(
            request_id=request.request_id,
            citizen_id=citizen_id,
            fields=list(change.fields),
            created=change.created,
            corrected_by=actor["actor_id"],
            corrected_at=now,
        )
    )
    session.flush()  # the check below reads the register through the same session


def requests_of(session: Session, reference: str) -> list[CorrectionRequest]:
    """An application's requests, newest first."""
    query = select(CorrectionRequest).where(CorrectionRequest.reference == reference)
    return list(session.scalars(query.order_by(CorrectionRequest.requested_at.desc())))


def queue(session: Session, status: str, limit: int) -> list[CorrectionRequest]:
    """The department's queue: requests of one status, oldest first (first come, first
    decided)."""
    query = select(CorrectionRequest).where(CorrectionRequest.status == status)
    return list(session.scalars(query.order_by(CorrectionRequest.requested_at).limit(limit)))


def one(session: Session, request_id: str, with_evidence: bool = False) -> CorrectionRequest:
    """A request by id (404 if none)."""
    options = [undefer(CorrectionRequest.evidence)] if with_evidence else []
    request = session.get(CorrectionRequest, request_id, options=options)
    if request is None or (with_evidence and request.evidence is None):
        raise CorrectionNotFound(request_id)
    return request


def corrections_of(session: Session, request_id: str) -> list[dict[str, Any]]:
    """The register corrections an approved request wrote (field names only)."""
    query = select(RegisterCorrection).where(RegisterCorrection.request_id == request_id)
    return [row.as_dict() for row in session.scalars(query)]


def erase(session: Session, references: list[str]) -> None:
    """Erased applications' requests lose the family's words and evidence (the row stays)."""
    for request in session.scalars(
        select(CorrectionRequest).where(CorrectionRequest.reference.in_(references))
    ):
        request.text, request.evidence = None, None


def view(request: CorrectionRequest) -> dict[str, Any]:
    """A request as the family and the department see it (without the evidence's bytes)."""
    return {
        "request_id": request.request_id,
        "reference": request.reference,
        "round_id": request.round_id,
        "status": request.status,
        "codes": list(request.codes),
        "text": request.text,
        "evidence_type": request.evidence_type,
        "evidence_bytes": request.evidence_bytes,
        "requested_at": request.requested_at.isoformat(),
        "decided_at": request.decided_at.isoformat() if request.decided_at else None,
        "reason": request.reason,
        "outcome": request.outcome,
    }


def _event(event_type: str, request: CorrectionRequest, correlation_id: str) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "reference": request.reference,
        "round_id": request.round_id,
        "request_id": request.request_id,
    }
    if event_type == "correction_decided":
        payload.update(decision=request.status, reason=request.reason)
    return make_message(event_type, payload, correlation_id=correlation_id)
