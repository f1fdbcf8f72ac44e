"""Parents' applications: submit (queue-based load levelling) and follow their own.

Every route is for parents, and only for their own applications: another family's
reference answers 404, exactly as an unknown one does.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from gateway.api.submission import accepting, submit_in_request
from gateway.auth.decorators import require
from gateway.auth.ownership import current_principal, owned_application
from gateway.auth.roles import PARENT
from gateway.backends import current_backends
from gateway.errors import ApiError
from gateway.logging import correlation_id
from gateway.schemas import (
    ApplicationAccepted,
    ApplicationView,
    ErrorBody,
    SubmitApplicationRequest,
)
from gateway.smorest import Blueprint
from shared.contracts.envelope import make_message

blp = Blueprint("applications", __name__, url_prefix="/api/v1/applications")
# One schema instance for every submission: given the class, webargs would build a new
# schema (and its nested ones) per request, a third of the gateway's CPU at peak.
SUBMISSION = SubmitApplicationRequest()


@blp.route("")
class Applications(MethodView):
    """The collection of a family's applications."""

    @require(PARENT, audit="application.submit", limit="submit")
    @blp.arguments(SUBMISSION)
    @blp.response(202, ApplicationAccepted)
    @blp.alt_response(400, schema=ErrorBody, description="Fields missing or not valid.")
    @blp.alt_response(
        409, schema=ErrorBody, description="The round is not open; or another account's child."
    )
    @blp.alt_response(503, schema=ErrorBody, description="Busy; nothing saved. Retry-After.")
    def post(self, form: dict[str, Any]) -> tuple[dict[str, str], int]:
        """Submit an application; 202 only once the broker has confirmed it is stored.

        A child has one application per round: submitting again from the same account
        amends it; from another account it is refused (409 `registered_by_another_account`).
        Example: `curl -X POST localhost:8000/api/v1/applications -H 'Authorization: Bearer
        ...' -H 'Content-Type: application/json' -d '{"round_id": "2027-grade_1", "child":
        {"citizen_id": "001221000123", "full_name": "Nguyễn Văn An", "date_of_birth":
        "2021-03-04"}, "preferences": ["TH-0001"], "guardian": {"full_name": "Nguyễn Thị
        Bình", "phone": "0912345678", "email": "binh@example.com", "language": "vi"}}'`
        """
        return submit_in_request(form)

    @require(PARENT, limit="account")
    @blp.response(200, ApplicationView(many=True))
    def get(self) -> list[dict[str, Any]]:
        """The applications this account submitted, newest first.

        Example: `curl localhost:8000/api/v1/applications -H 'Authorization: Bearer ...'`
        """
        owner = current_principal().account_id
        with current_backends().rpc.cluster() as rpc:
            applications: list[dict[str, Any]] = rpc.registration.list_applications(owner)
            found = rpc.allocation.get_results([a["reference"] for a in applications])
        return [{**a, "result": found.get(a["reference"])} for a in applications]


@blp.route("/<string:reference>")
class Application(MethodView):
    """One application."""

    @require(PARENT, limit="account")
    @blp.response(200, ApplicationView)
    @blp.alt_response(404, schema=ErrorBody, description="No such application (of yours).")
    def get(self, reference: str) -> dict[str, Any]:
        """Status and details of one of your applications.

        Example: `curl localhost:8000/api/v1/applications/TSABCDEFGHIJKLMNOP -H
        'Authorization: Bearer ...'`
        """
        application = owned_application(reference)
        with current_backends().rpc.cluster() as rpc:
            return {**application, "result": rpc.allocation.get_result(reference)}


@blp.route("/<string:reference>/withdraw")
class Withdrawal(MethodView):
    """Taking an application back while the round is open."""

    @require(PARENT, audit="application.withdraw", limit="submit")
    @blp.response(202, ApplicationAccepted)
    @blp.alt_response(404, schema=ErrorBody, description="No such application (of yours).")
    @blp.alt_response(409, schema=ErrorBody, description="The round is closed.")
    @blp.alt_response(503, schema=ErrorBody, description="Busy; nothing done. Retry-After.")
    def post(self, reference: str) -> tuple[dict[str, str], int]:
        """Withdraw your application; submitting again while the round is open undoes it.

        Example: `curl -X POST localhost:8000/api/v1/applications/TSABCDEFGHIJKLMNOP/withdraw
        -H 'Authorization: Bearer ...'`
        """
        backends = current_backends()
        application = owned_application(reference)
        try:
            accepting(backends, application["round_id"])
        except ApiError as error:
            if error.code != "round_not_open":
                raise
            raise ApiError(
                409, "round_closed", "The round is closed: applications can no longer change."
            ) from None
        payload = {"reference": reference, "round_id": application["round_id"]}
        command = make_message("withdraw_application", payload, correlation_id=correlation_id())
        backends.send_command("registration", command)
        return {"reference": reference, "status": "withdrawal_received"}, 202


@blp.route("/<string:reference>/erasure")
class Erasure(MethodView):
    """Asking for the child's personal data in an application to be erased."""

    @require(PARENT, audit="application.erasure", limit="submit")
    @blp.response(202, ApplicationAccepted)
    @blp.alt_response(404, schema=ErrorBody, description="No such application (of yours).")
    @blp.alt_response(
        409, schema=ErrorBody, description="The child holds a seat or a waitlist place."
    )
    @blp.alt_response(503, schema=ErrorBody, description="Busy; nothing done. Retry-After.")
    def post(self, reference: str) -> tuple[dict[str, str], int]:
        """Withdraw the application (while its round is open) and erase the child's data.

        The names, birth date, citizen ID, residence and the guardian's contacts are erased
        in every service once the round has closed and the retention period has passed;
        the application's reference and status stay, so the round's figures do not change.
        Once the round has closed, a child holding a seat or a waitlist place must decline
        it first (409). Example: `curl -X POST
        localhost:8000/api/v1/applications/TSABCDEFGHIJKLMNOP/erasure -H 'Authorization:
        Bearer ...'`
        """
        backends = current_backends()
        application = owned_application(reference)
        if holding_a_place([reference]):
            raise ApiError(
                409,
                "holds_a_place",
                "Your child holds a seat or a waitlist place in this round: decline it first,"
                " then ask again.",
            )
        payload = {"reference": reference, "round_id": application["round_id"]}
        command = make_message("request_erasure", payload, correlation_id=correlation_id())
        backends.send_command("registration", command)
        return {"reference": reference, "status": "erasure_requested"}, 202


def holding_a_place(references: list[str]) -> set[str]:
    """Of `references`, the applications registration would not erase now: the child holds
    a seat or a waitlist place in a round no longer open (registration's rule; it decides
    again when the request arrives)."""
    if not references:
        return set()
    with current_backends().rpc.cluster() as rpc:
        return set(rpc.registration.holding_a_place(references))
