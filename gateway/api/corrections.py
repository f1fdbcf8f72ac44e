"""Correction requests: a family whose application the register rejected asks for a register
correction with evidence; the department reviews, approves or refuses.

A family reaches only its own application's requests (another family's is a 404, as a
missing one is); the department's queue and decisions need a department token. Evidence is
served only through these routes, as the type its bytes really are, never from disk.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from flask import Response, g
from flask.views import MethodView

from gateway.auth.decorators import client_ip, require
from gateway.auth.ownership import current_principal, owned_application
from gateway.auth.roles import DEPARTMENT, PARENT
from gateway.backends import current_backends
from gateway.correction_schemas import (
    CorrectionRequestForm,
    CorrectionReview,
    CorrectionView,
    DecisionRequest,
    QueueQuery,
)
from gateway.errors import ApiError, not_found
from gateway.logging import correlation_id
from gateway.schemas import ErrorBody
from gateway.smorest import MULTIPART, Blueprint
from shared.corrections import EVIDENCE_TYPES, MAX_EVIDENCE_BYTES, evidence_problems

blp = Blueprint("corrections", __name__, url_prefix="/api/v1")
MINE = "/applications/<string:reference>/corrections"
REQUEST_ID = r"^[0-9a-f-]{36}$"
EVIDENCE_DOC = {
    "responses": {
        "200": {
            "description": "The evidence, as the type its bytes are (JPEG, PNG or PDF).",
            "content": {
                media_type: {"schema": {"type": "string", "format": "binary"}}
                for media_type in EVIDENCE_TYPES
            },
        }
    }
}


@blp.route(MINE)
class Requests(MethodView):
    """A family's correction requests of one application."""

    @require(PARENT, audit="correction.request", limit="submit")
    @blp.arguments(CorrectionRequestForm, location=MULTIPART, content_type="multipart/form-data")
    @blp.response(201, CorrectionView)
    @blp.alt_response(400, schema=ErrorBody, description="Text or evidence missing or not valid.")
    @blp.alt_response(404, schema=ErrorBody, description="No such application (of yours).")
    @blp.alt_response(
        409,
        schema=ErrorBody,
        description="Not rejected because of the register; the round is closed; or a request "
        "is still being reviewed.",
    )
    def post(self, form: dict[str, Any], reference: str) -> tuple[dict[str, Any], int]:
        """Ask for a register correction, with a JPEG/PNG photo or a PDF (at most 5 MB) as
        evidence; its type is read from its bytes, not from its name.

        Example: `curl -X POST localhost:8000/api/v1/applications/TSABCDEFGHIJKLMNOP/corrections
        -H 'Authorization: Bearer ...' -F 'text=The register misspells her name: Thảo, not
        Thao' -F evidence=@vneid.png`
        """
        owned_application(reference)
        data = form["evidence"].stream.read(MAX_EVIDENCE_BYTES + 1)
        problems = evidence_problems(data)
        if problems:
            raise ApiError(400, "invalid", "Some fields are not valid.", {"evidence": problems})
        owner = current_principal().account_id
        evidence = base64.b64encode(data).decode("ascii")
        with current_backends().rpc.cluster() as rpc:
            created: dict[str, Any] = rpc.registration.request_correction(
                reference, owner, form["text"], evidence, correlation_id()
            )
        g.audit_objects = {"request_id": created["request_id"]}
        return created, 201

    @require(PARENT, limit="account")
    @blp.response(200, CorrectionView(many=True))
    @blp.alt_response(404, schema=ErrorBody, description="No such application (of yours).")
    def get(self, reference: str) -> list[dict[str, Any]]:
        """Your correction requests of one application, newest first, with their status.

        Example: `curl localhost:8000/api/v1/applications/TSABCDEFGHIJKLMNOP/corrections -H
        'Authorization: Bearer ...'`
        """
        owned_application(reference)
        with current_backends().rpc.cluster() as rpc:
            found: list[dict[str, Any]] = rpc.registration.corrections_of(reference)
        return found


@blp.route(MINE + "/<string:request_id>/evidence")
@require(PARENT, limit="account")
@blp.doc(**EVIDENCE_DOC)
@blp.alt_response(404, schema=ErrorBody, description="No such request (of yours).")
def own_evidence(reference: str, request_id: str) -> Response:
    """The evidence you sent with a request.

    Example: `curl -o evidence localhost:8000/api/v1/applications/TSABCDEFGHIJKLMNOP/
    corrections/6f1c0c7e-8d1e-4f7a-9f51-3b3f0d0f2a11/evidence -H 'Authorization: Bearer ...'`
    """
    owned_application(reference)
    found = _evidence(request_id)
    if found["reference"] != reference:
        raise not_found("CorrectionNotFound")
    return _file(found)


@blp.route("/corrections")
@require(DEPARTMENT, audit="correction.list", limit="account")
@blp.arguments(QueueQuery, location="query")
@blp.response(200, CorrectionView(many=True))
def queue(args: dict[str, Any]) -> list[dict[str, Any]]:
    """The review queue: requests of one status (default pending), oldest first.

    Example: `curl 'localhost:8000/api/v1/corrections?status=pending' -H 'Authorization:
    Bearer ...'`
    """
    g.audit_objects = {"status": args["status"]}
    with current_backends().rpc.cluster() as rpc:
        found: list[dict[str, Any]] = rpc.registration.correction_queue(
            args["status"], args["limit"]
        )
    return found


@blp.route("/corrections/<string:request_id>")
@require(DEPARTMENT, audit="correction.read", limit="account")
@blp.response(200, CorrectionReview)
@blp.alt_response(404, schema=ErrorBody, description="No such correction request.")
def review(request_id: str) -> dict[str, Any]:
    """One request for review: the family's text, the child as typed, the register's values,
    and what an approval wrote (a read of the child's data: audited).

    Example: `curl localhost:8000/api/v1/corrections/6f1c0c7e-8d1e-4f7a-9f51-3b3f0d0f2a11 -H
    'Authorization: Bearer ...'`
    """
    _known_form(request_id)
    with current_backends().rpc.cluster() as rpc:
        found: dict[str, Any] = rpc.registration.get_correction(request_id)
    g.audit_objects = {"reference": found["reference"]}
    found["application"].pop("owner_id", None)
    return found


@blp.route("/corrections/<string:request_id>/evidence")
@require(DEPARTMENT, audit="correction.evidence", limit="account")
@blp.doc(**EVIDENCE_DOC)
@blp.alt_response(404, schema=ErrorBody, description="No such correction request.")
def evidence(request_id: str) -> Response:
    """A request's evidence (a read of the child's data: audited).

    Example: `curl -o evidence localhost:8000/api/v1/corrections/
    6f1c0c7e-8d1e-4f7a-9f51-3b3f0d0f2a11/evidence -H 'Authorization: Bearer ...'`
    """
    found = _evidence(request_id)
    g.audit_objects = {"reference": found["reference"]}
    return _file(found)


@blp.route("/corrections/<string:request_id>/decision", methods=["POST"])
@require(DEPARTMENT, audit="correction.decide", limit="account")
@blp.arguments(DecisionRequest)
@blp.response(200, CorrectionView)
@blp.alt_response(400, schema=ErrorBody, description="Not valid, e.g. a refusal's reason.")
@blp.alt_response(404, schema=ErrorBody, description="No such correction request.")
@blp.alt_response(409, schema=ErrorBody, description="Already approved or refused.")
def decide(decision: dict[str, Any], request_id: str) -> dict[str, Any]:
    """Approve (the register takes the corrected values and the application is checked
    again) or refuse (the family is told the reason).

    Example: `curl -X POST localhost:8000/api/v1/corrections/6f1c0c7e-8d1e-4f7a-9f51-
    3b3f0d0f2a11/decision -H 'Authorization: Bearer ...' -H 'Content-Type:
    application/json' -d '{"decision": "approved", "register": {"full_name": "Nguyễn Thảo"}}'`
    """
    _known_form(request_id)
    principal = current_principal()
    actor = {"actor_id": principal.account_id, "role": principal.role, "ip": client_ip()}
    wire = {
        "decision": decision["decision"],
        "reason": decision.get("reason"),
        "register": {
            key: value.isoformat() if key == "date_of_birth" else value
            for key, value in decision["register"].items()
        },
    }
    with current_backends().rpc.cluster() as rpc:
        decided: dict[str, Any] = rpc.registration.decide_correction(
            request_id, wire, actor, correlation_id()
        )
    g.audit_objects = {"reference": decided["reference"], "decision": decision["decision"]}
    return decided


def _known_form(request_id: str) -> None:
    """An id that cannot name a request is answered at once, as a missing one is."""
    if not re.match(REQUEST_ID, request_id):
        raise not_found("CorrectionNotFound")


def _evidence(request_id: str) -> dict[str, Any]:
    _known_form(request_id)
    with current_backends().rpc.cluster() as rpc:
        found: dict[str, Any] = rpc.registration.correction_evidence(request_id)
    return found


def _file(found: dict[str, Any]) -> Response:
    """The evidence's bytes, as their own type; never rendered as a page of this site."""
    extension = EVIDENCE_TYPES[found["content_type"]][0]
    return Response(
        base64.b64decode(found["data"]),
        mimetype=found["content_type"],
        headers={
            "Content-Disposition": f'inline; filename="evidence.{extension}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self'",
        },
    )
