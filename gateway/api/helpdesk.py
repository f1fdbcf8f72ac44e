"""Help points: a help desk registers and follows applications for families without an
account.

A help desk is bound to one school or one ward (its help point). After checking the
guardian's papers in person, it registers the child's application; the application belongs
to the family account of the guardian's phone (opened for it, without a password, if there
is none), and the guardian's receipt says how to take it over: sign up with that phone,
prove it by the texted code, and the application is in "My applications". The officer
follows only what they registered at their current help point: anything else is 404.
Every action is audited with the officer's id (the registration in registration's audit
log, carried in the command; the reads here). The department opens the help desks' accounts
in gateway/api/helpdesks.py.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, g
from flask.views import MethodView
from sqlalchemy import delete

from gateway import helpdesk
from gateway.api.helpdesk_schemas import (
    HelpPointApplication,
    HelpPointApplicationRequest,
)
from gateway.api.submission import submit_in_request
from gateway.auth import accounts
from gateway.auth.decorators import require
from gateway.auth.ownership import REFERENCE, current_principal
from gateway.auth.roles import HELPDESK
from gateway.backends import current_backends
from gateway.errors import ApiError, not_found
from gateway.schemas import ApplicationAccepted, ErrorBody
from gateway.smorest import Blueprint

blp = Blueprint("helpdesk", __name__, url_prefix="/api/v1")
REGISTRATION = HelpPointApplicationRequest()


class FamilyAccount:
    """What a help desk's submission keeps, around the shared submission path."""

    def __init__(self, identity: dict[str, str]) -> None:
        self._identity = identity

    def family(self, form: dict[str, Any]) -> str:
        """The guardian's phone's parent account, opened without a password if need be."""
        guardian = form["guardian"]
        with current_app.extensions["db"].session() as session:
            try:
                account = accounts.family_for_phone(
                    session, guardian["phone"], guardian.get("language", "vi")
                )
            except ValueError:  # the contract's pattern lets through a few undialable numbers
                fields = {"guardian": {"phone": ["is not a phone number"]}}
                raise ApiError(400, "invalid", "Some fields are not valid.", fields) from None
            except accounts.AccountExists:
                raise ApiError(
                    409,
                    "account_closed",
                    "The account of this phone was closed at the family's request: use "
                    "another phone, or ask the family to contact the department.",
                ) from None
            session.flush()
            return account.id

    def claimed(self, reference: str, round_id: str, owner: str) -> None:
        """Keep the registration and the paper seen, before the command is published."""
        principal = current_principal()
        with current_app.extensions["db"].session() as session:
            row = helpdesk.record(
                session,
                reference=reference,
                round_id=round_id,
                officer_id=principal.account_id,
                help_point=str(principal.help_point),
                owner_id=owner,
                document_kind=self._identity["document_kind"],
                document_last_digits=self._identity["last_digits"],
            )
            g.helpdesk_row = row.id

    def not_sent(self, reference: str) -> None:
        """Nothing was published: the registration kept a moment ago goes."""
        row_id = g.get("helpdesk_row")
        if row_id is None:
            return
        with current_app.extensions["db"].session() as session:
            table = helpdesk.HelpPointRegistration
            session.execute(delete(table).where(table.id == row_id))


@blp.route("/helpdesk/applications")
class HelpPointApplications(MethodView):
    """The applications registered at this help desk."""

    @require(HELPDESK, audit="helpdesk.register", limit="submit")
    @blp.arguments(REGISTRATION)
    @blp.response(202, ApplicationAccepted)
    @blp.alt_response(400, schema=ErrorBody, description="Fields missing or not valid.")
    @blp.alt_response(
        409,
        schema=ErrorBody,
        description="The round is not open; the child was registered from another account; "
        "or the phone's account was closed.",
    )
    @blp.alt_response(503, schema=ErrorBody, description="Busy; nothing saved. Retry-After.")
    def post(self, form: dict[str, Any]) -> tuple[dict[str, str], int]:
        """Register a family's application after checking their papers in person.

        The application belongs to the parent account of the guardian's phone (opened if
        there is none); the guardian is texted how to take it over. Example: `curl -X POST
        localhost:8000/api/v1/helpdesk/applications -H 'Authorization: Bearer ...' -H
        'Content-Type: application/json' -d '{"round_id": "2027-grade_1", "child":
        {"citizen_id": "001221000123", "full_name": "Nguyễn Văn An", "date_of_birth":
        "2021-03-04"}, "preferences": ["TH-0001"], "guardian": {"full_name": "Nguyễn Thị
        Bình", "phone": "0912345678", "email": "binh@example.com", "language": "vi"},
        "identity": {"document_kind": "citizen_id_card", "last_digits": "0123"}}'`
        """
        identity = form.pop("identity")
        return submit_in_request(form, FamilyAccount(identity))

    @require(HELPDESK, audit="helpdesk.list", limit="account")
    @blp.response(200, HelpPointApplication(many=True))
    def get(self) -> list[dict[str, Any]]:
        """The applications this officer registered at their help point, newest first.

        Example: `curl localhost:8000/api/v1/helpdesk/applications -H 'Authorization: Bearer ...'`
        """
        return _followed(None)


@blp.route("/helpdesk/applications/<string:reference>")
class HelpPointApplicationOne(MethodView):
    """One application registered at this help desk."""

    @require(HELPDESK, audit="helpdesk.read", limit="account")
    @blp.response(200, HelpPointApplication)
    @blp.alt_response(404, schema=ErrorBody, description="Not registered by you at your point.")
    def get(self, reference: str) -> dict[str, Any]:
        """Where one application you registered stands.

        Example: `curl localhost:8000/api/v1/helpdesk/applications/TSABCDEFGHIJKLMNOP -H
        'Authorization: Bearer ...'`
        """
        if not REFERENCE.match(reference):
            raise not_found("ApplicationNotFound")
        found = _followed(reference)
        if not found:
            raise not_found("ApplicationNotFound")
        return found[0]


def _followed(reference: str | None) -> list[dict[str, Any]]:
    """The officer's registrations at their help point, with where each application stands."""
    principal = current_principal()
    with current_app.extensions["db"].session() as session:
        rows = helpdesk.registered_by(
            session, principal.account_id, str(principal.help_point), reference
        )
        kept = [_row(row) for row in rows]
    if not kept:
        return []
    references = [row["reference"] for row in kept]
    with current_backends().rpc.cluster() as rpc:
        stored = rpc.registration.get_applications(references)
        results = rpc.allocation.get_results(references)
    return [_view(row, stored.get(row["reference"]), results.get(row["reference"])) for row in kept]


def _row(row: helpdesk.HelpPointRegistration) -> dict[str, Any]:
    return {
        "reference": row.reference,
        "round_id": row.round_id,
        "owner_id": row.owner_id,
        "registered_at": row.registered_at.isoformat(),
        "document_kind": row.document_kind,
        "document_last_digits": row.document_last_digits,
    }


def _view(
    row: dict[str, Any], application: dict[str, Any] | None, result: dict[str, Any] | None
) -> dict[str, Any]:
    """What the officer sees: the status and outcome, the child's name they typed; nothing
    of an application that is no longer the family's registration of this help point."""
    view = {**row, "status": "received", "preferences": [], "child_name": None}
    if application is not None and application.get("owner_id") == row["owner_id"]:
        view.update(
            status=application["status"],
            preferences=application["preferences"],
            child_name=(application.get("child") or {}).get("full_name"),
            rejection_reasons=application.get("rejection_reasons"),
        )
    placement = (result or {}).get("placement") or {}
    view["school_code"] = placement.get("school_code")
    return view
