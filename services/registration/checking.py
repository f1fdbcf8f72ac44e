"""Running verification on a stored application: load, check with the pure rules, record."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.registration.exceptions import SchoolDirectoryNotKnownYet
from services.registration.models import Application, RoundView, SchoolEntry
from services.registration.register import PopulationRegister
from services.registration.store import SERVICE, set_status
from services.registration.verification import Claim, RoundRules, Verified, verify
from shared.db.outbox import stage_event
from shared.events import make_message


def check_application(
    session: Session, register: PopulationRegister, reference: str, correlation_id: str
) -> str | None:
    """Verify a `received` application against the register; returns the new status.

    Anything else (already checked, withdrawn, amended again since) is left alone: the
    event that asked for this check is stale, and the latest one will be checked.
    """
    application = session.get(Application, reference, with_for_update=True)
    if application is None or application.status != "received":
        return None
    round_view = session.get(RoundView, application.round_id)
    if round_view is None:
        return None  # cannot happen: the application was accepted for a known round
    claim = Claim(
        citizen_id=application.citizen_id,
        full_name=application.child_name,
        date_of_birth=application.date_of_birth,
        preferences=tuple(application.preferences),
    )
    rules = RoundRules(round_view.level, round_view.year, round_view.max_preferences)
    verdict = verify(claim, register.lookup(claim.citizen_id), rules, _levels(session, claim))
    for column, value in verdict.columns().items():
        setattr(application, column, value)
    set_status(application, verdict.status, datetime.now(UTC))
    stage_event(session, SERVICE, _event(application, verdict, correlation_id))
    return verdict.status


def _levels(session: Session, claim: Claim) -> dict[str, str]:
    wanted = set(claim.preferences)
    query = select(SchoolEntry.code, SchoolEntry.level).where(SchoolEntry.code.in_(wanted))
    levels = dict(session.execute(query).tuples().all())
    if len(levels) < len(wanted) and not session.scalar(select(func.count(SchoolEntry.code))):
        # No directory at all yet: "unknown school" would be our fault, not the parent's.
        raise SchoolDirectoryNotKnownYet()
    return levels


def _event(application: Application, verdict: object, correlation_id: str) -> dict[str, object]:
    base: dict[str, Any] = {"reference": application.reference, "round_id": application.round_id}
    if isinstance(verdict, Verified):
        payload = {
            **base,
            "citizen_id": application.citizen_id,
            "ward_code": verdict.ward_code,
            "household_id": verdict.household_id,
            "priority_category": verdict.priority_category,
            "preferences": list(application.preferences),
        }
        return make_message("application_verified", payload, correlation_id=correlation_id)
    reasons = [
        {"field": reason["field"], "code": reason["code"]}
        for reason in application.rejection_reasons or []
    ]
    payload = {**base, "reasons": reasons}
    return make_message("application_rejected", payload, correlation_id=correlation_id)
