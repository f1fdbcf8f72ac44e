"""The registration service's entrypoints for correction requests (mixed into the service)."""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy.orm import Session

from services.registration.corrections import requests as corrections
from services.registration.dependencies import RegisterFactory
from services.registration.exceptions import (
    ApplicationNotFound,
    CorrectionAlreadyDecided,
    CorrectionNotAllowed,
    CorrectionNotFound,
    InvalidCorrection,
)
from services.registration.models import Application
from services.registration.schemas import ChildView
from shared.messaging.rpc import rpc

FILING_ERRORS = (ApplicationNotFound, CorrectionNotAllowed, InvalidCorrection)
DECIDING_ERRORS = (CorrectionNotFound, CorrectionAlreadyDecided, InvalidCorrection)


class CorrectionEntrypoints:
    """Families ask for register corrections; the department reviews them."""

    db: Session
    register: RegisterFactory

    @rpc(expected_exceptions=FILING_ERRORS)
    def request_correction(
        self, reference: str, owner_id: str, text: str, evidence: str, correlation_id: str
    ) -> dict[str, Any]:
        """Store a family's request (evidence: base64) and announce it."""
        data = base64.b64decode(evidence)
        request = corrections.file_request(self.db, reference, owner_id, text, data, correlation_id)
        self.db.commit()
        return corrections.view(request)

    @rpc
    def corrections_of(self, reference: str) -> list[dict[str, Any]]:
        """An application's correction requests, newest first."""
        return [corrections.view(r) for r in corrections.requests_of(self.db, reference)]

    @rpc
    def correction_queue(self, status: str = "pending", limit: int = 100) -> list[dict[str, Any]]:
        """The department's queue: requests of one status, oldest first."""
        found = corrections.queue(self.db, status, min(max(limit, 1), 500))
        return [corrections.view(request) for request in found]

    @rpc(expected_exceptions=CorrectionNotFound)
    def get_correction(self, request_id: str) -> dict[str, Any]:
        """One request for its reviewer: what the family typed, what the register holds,
        and the corrections an approval wrote."""
        request = corrections.one(self.db, request_id)
        application = self.db.get(Application, request.reference)
        if application is None:
            raise CorrectionNotFound(request_id)
        record = self.register(self.db).lookup(application.citizen_id or "")
        return {
            **corrections.view(request),
            "application": {
                "status": application.status,
                "owner_id": application.owner_id,
                "child": ChildView().dump(application),
                "rejection_reasons": application.rejection_reasons or [],
            },
            "register": None if record is None else _register_view(record),
            "corrections": corrections.corrections_of(self.db, request_id),
        }

    @rpc(expected_exceptions=CorrectionNotFound)
    def correction_evidence(self, request_id: str) -> dict[str, Any]:
        """A request's evidence (base64) with its type, and whose request it is."""
        request = corrections.one(self.db, request_id, with_evidence=True)
        return {
            "request_id": request_id,
            "reference": request.reference,
            "owner_id": request.owner_id,
            "content_type": request.evidence_type,
            "data": base64.b64encode(request.evidence or b"").decode("ascii"),
        }

    @rpc(expected_exceptions=DECIDING_ERRORS)
    def decide_correction(
        self, request_id: str, decision: dict[str, Any], actor: dict[str, Any], correlation_id: str
    ) -> dict[str, Any]:
        """Approve (correct the register, check the application again) or refuse a request."""
        request = corrections.decide(
            self.db, self.register(self.db), request_id, decision, actor, correlation_id
        )
        self.db.commit()
        return corrections.view(request)


def _register_view(record: Any) -> dict[str, Any]:
    return {
        "full_name": record.full_name,
        "date_of_birth": record.date_of_birth.isoformat(),
        "gender": record.gender,
        "ward_code": record.ward_code,
        "household_id": record.household_id,
        "priority_category": record.priority_category,
    }
