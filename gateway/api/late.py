"""Late applications: after close, the department accepts one with a recorded reason.

A parent's submission after the close instant is refused, always (see README "Rounds,
windows and in time"). A late application is not that: it is a department action, audited
with the account that took it, for a family with a good reason (England's rule). It goes
through registration like any other (stored, checked against the register, announced),
flagged late, and the engine places it after every on-time application, in a pass of its
own over the seats left: it never displaces an on-time child.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import current_app, g
from flask.views import MethodView
from marshmallow import RAISE, Schema, fields, validate
from nameko.exceptions import RemoteError

from gateway.api.submission import refuse_bad_preferences
from gateway.auth.accounts import by_phone
from gateway.auth.decorators import require
from gateway.auth.models import ApplicationClaim
from gateway.auth.ownership import current_principal
from gateway.auth.roles import DEPARTMENT
from gateway.backends import allocation, current_backends
from gateway.errors import ApiError
from gateway.logging import correlation_id
from gateway.references import application_reference
from gateway.schemas import ApplicationAccepted, ErrorBody, SubmitApplicationRequest
from gateway.smorest import Blueprint
from shared.contracts.envelope import make_message

blp = Blueprint("late", __name__, url_prefix="/api/v1/rounds")
# Between close and publication; after it, the family applies in the next round.
ACCEPTING_LATE = ("closed", "allocated")


class LateApplicationRequest(SubmitApplicationRequest):
    """A late application: the child, the schools and the guardian, as a parent gives them,
    and the reason the department accepts it after close."""

    class Meta:
        unknown = RAISE
        exclude = ("round_id",)

    reason = fields.String(
        required=True,
        validate=validate.Length(min=5, max=500),
        metadata={"example": "Gia đình chuyển đến phường sau khi hết hạn (giấy xác nhận cư trú)"},
    )


class LateApplicationView(Schema):
    """A late application of the round: no child's data, the reason and who accepted it."""

    reference = fields.String()
    status = fields.String(metadata={"example": "verified"})
    reason = fields.String()
    accepted_by = fields.String(metadata={"description": "the department account's id"})
    accepted_at = fields.String()


@blp.route("/<string:round_id>/late-applications")
class LateApplications(MethodView):
    """A round's late applications."""

    @require(DEPARTMENT, audit="application.accept_late", limit="account")
    @blp.arguments(LateApplicationRequest)
    @blp.response(202, ApplicationAccepted)
    @blp.alt_response(400, schema=ErrorBody, description="Fields missing or not valid.")
    @blp.alt_response(404, schema=ErrorBody, description="No such round.")
    @blp.alt_response(
        409,
        schema=ErrorBody,
        description="The round is not between close and publication; or the child applied.",
    )
    def post(self, form: dict[str, Any], round_id: str) -> tuple[dict[str, str], int]:
        """Accept a late application after close, with the reason; 202 once the broker holds it.

        The guardian's phone must be a family account's: the application is that family's,
        who follows it and its result like any other. Example: `curl -X POST
        localhost:8000/api/v1/rounds/2027-grade_1/late-applications -H 'Content-Type:
        application/json' -d '{"child": {"citizen_id": "001221000123", "full_name": "Nguyễn
        Văn An", "date_of_birth": "2021-03-04"}, "preferences": ["TH-0001"], "guardian":
        {"full_name": "Nguyễn Thị Bình", "phone": "0912345678", "email": "binh@example.com",
        "language": "vi"}, "reason": "moved into the ward after the deadline"}'`
        """
        backends = current_backends()
        round_ = allocation("get_round", round_id)
        if round_["status"] not in ACCEPTING_LATE:
            raise ApiError(
                409,
                "round_not_closed",
                "Late applications are accepted after the round closes and before its results"
                " are published.",
            )
        refuse_bad_preferences(backends, form["preferences"], round_)
        owner = _family_account(form["guardian"]["phone"])
        citizen_id = form["child"]["citizen_id"]
        reference = application_reference(backends.reference_secret, round_id, citizen_id)
        g.audit_objects = {"reference": reference, "round_id": round_id}
        _refuse_if_applied(reference)
        holder = current_app.extensions["claims"].claim(reference, owner, round_id)
        if holder != owner:
            raise ApiError(
                409,
                "registered_by_another_account",
                "This child already has an application in this round from another account.",
            )
        principal = current_principal()
        payload = {
            **{k: v for k, v in form.items() if k != "reason"},
            "round_id": round_id,
            "reference": reference,
            "submitted_at": datetime.now(UTC),
            "owner_id": owner,
            "late": {"reason": form["reason"], "accepted_by": principal.account_id},
        }
        command = make_message("submit_application", payload, correlation_id=correlation_id())
        backends.send_command("registration", command)
        return {"reference": reference, "status": "received"}, 202

    @require(DEPARTMENT, limit="account")
    @blp.response(200, LateApplicationView(many=True))
    @blp.alt_response(404, schema=ErrorBody, description="No such round.")
    def get(self, round_id: str) -> list[dict[str, Any]]:
        """The round's late applications, oldest first, with their reasons and statuses.

        Example: `curl localhost:8000/api/v1/rounds/2027-grade_1/late-applications`
        """
        allocation("get_round", round_id)  # 404 for an unknown round
        with current_backends().rpc.cluster() as rpc:
            found: list[dict[str, Any]] = rpc.registration.late_applications(round_id)
        return found


def _family_account(phone: str) -> str:
    with current_app.extensions["db"].session() as session:
        account = by_phone(session, phone)
        owner = account.id if account is not None and account.role == "parent" else None
    if owner is None:
        message = "no family account has this phone: the family signs up first"
        raise ApiError(
            400, "invalid", "Some fields are not valid.", {"guardian": {"phone": [message]}}
        )
    return owner


def _refuse_if_applied(reference: str) -> None:
    """409 if the child has an application in the round: claimed by a submission (maybe
    still queued), or stored by registration."""
    with current_app.extensions["db"].session() as session:
        claimed = session.get(ApplicationClaim, reference) is not None
    if claimed:
        raise ApiError(
            409, "already_applied", "This child already has an application in this round."
        )
    try:
        with current_backends().rpc.cluster() as rpc:
            rpc.registration.get_application(reference)
    except RemoteError as error:
        if error.exc_type == "ApplicationNotFound":
            return
        raise
    raise ApiError(409, "already_applied", "This child already has an application in this round.")
