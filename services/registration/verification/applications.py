"""Verification of stored applications against the register, many at a time."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.registration.models import Application, RoundView, SchoolEntry
from services.registration.register.adapter import PopulationRegister
from services.registration.store import SERVICE, set_status
from services.registration.verification.rules import Claim, RoundRules, Verdict, Verified, verify
from shared.contracts.envelope import make_message
from shared.db.outbox import stage_events

log = logging.getLogger(__name__)


def verify_applications(
    session: Session,
    register: PopulationRegister,
    applications: Sequence[tuple[Application, str]],
    with_receipt: Collection[str] = (),
    rounds: Mapping[str, RoundView] | None = None,
) -> list[dict[str, Any]]:
    """Check `(application, correlation_id)` pairs; returns the events to stage. The verdicts
    of the references in `with_receipt` travel in their `application_received` too (marked
    so, and the family gets one notice for both). `rounds`: the applications' rounds, when the
    caller has just read them (else they are read here).

    With no school directory yet, nothing is checked: "unknown school" would be our fault,
    not the parent's. Those applications stay `received`, and the sweep checks them later.
    """
    if not applications:
        return []
    levels = _levels(session, {code for a, _ in applications for code in a.preferences})
    if levels is None:
        log.warning("no school directory yet; %d applications wait unchecked", len(applications))
        return []
    records = register.lookup_many({a.citizen_id for a, _ in applications})
    if rounds is None:
        rounds = {r.round_id: r for r in session.scalars(select(RoundView))}
    now = datetime.now(UTC)
    events = []
    for application, correlation_id in applications:
        round_view = rounds[application.round_id]
        claim = Claim(
            citizen_id=application.citizen_id,
            full_name=application.child_name,
            date_of_birth=application.date_of_birth,
            preferences=tuple(application.preferences),
        )
        rules = RoundRules(round_view.level, round_view.year, round_view.max_preferences)
        verdict = verify(claim, records.get(claim.citizen_id), rules, levels)
        for column, value in verdict.columns().items():
            setattr(application, column, value)
        set_status(application, verdict.status, now)
        receipt = application.reference in with_receipt
        events.append(_event(application, verdict, correlation_id, receipt))
    return events


def sweep(session: Session, register: PopulationRegister, limit: int = 500) -> int:
    """Check applications still `received`, oldest first; returns how many were looked at."""
    query = select(Application).where(Application.status == "received")
    query = query.order_by(Application.updated_at).limit(limit).with_for_update(skip_locked=True)
    waiting = list(session.scalars(query))
    # The sweep has no message to correlate with; the reference is the next best thing.
    events = verify_applications(session, register, [(a, a.reference) for a in waiting])
    stage_events(session, SERVICE, events)
    return len(waiting)


def _levels(session: Session, codes: set[str]) -> dict[str, str] | None:
    query = select(SchoolEntry.code, SchoolEntry.level).where(SchoolEntry.code.in_(codes))
    levels = dict(session.execute(query).tuples().all())
    if len(levels) < len(codes) and not session.scalar(select(func.count(SchoolEntry.code))):
        return None
    return levels


def _event(
    application: Application, verdict: Verdict, correlation_id: str, with_receipt: bool
) -> dict[str, Any]:
    base: dict[str, Any] = {
        "reference": application.reference,
        "round_id": application.round_id,
        "with_receipt": with_receipt,
    }
    if isinstance(verdict, Verified):
        payload = {
            **base,
            "citizen_id": application.citizen_id,
            "ward_code": verdict.ward_code,
            "household_id": verdict.household_id,
            "priority_category": verdict.priority_category,
            "preferences": list(application.preferences),
            "lat": verdict.lat,
            "lon": verdict.lon,
            "late": application.late,
        }
        return make_message("application_verified", payload, correlation_id=correlation_id)
    reasons = [{"field": reason.field, "code": reason.code} for reason in verdict.reasons]
    payload = {**base, "reasons": reasons}
    return make_message("application_rejected", payload, correlation_id=correlation_id)
