"""Parents' applications: submit (queue-based load levelling) and follow."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import current_app
from flask.views import MethodView

from gateway.errors import ApiError
from gateway.references import application_reference
from gateway.schemas import ApplicationAccepted, ApplicationView, SubmitApplicationRequest
from gateway.smorest import Blueprint
from shared.events import make_message

blp = Blueprint("applications", __name__, url_prefix="/api/v1/applications")


@blp.route("")
class Applications(MethodView):
    """The collection of a family's applications."""

    @blp.arguments(SubmitApplicationRequest)
    @blp.response(202, ApplicationAccepted)
    @blp.alt_response(400, description="Fields are missing or not valid; `fields` says which.")
    @blp.alt_response(409, description="The round is not open.")
    @blp.alt_response(503, description="Busy or broker unreachable; nothing saved. Retry-After.")
    def post(self, form: dict[str, Any]) -> tuple[dict[str, str], int]:
        """Submit an application; 202 only once the broker has confirmed it is stored.

        Example: `curl -X POST localhost:8000/api/v1/applications -H 'Content-Type:
        application/json' -d '{"round_id": "2027-grade_1", "child": {"citizen_id":
        "001221000123", "full_name": "Nguyễn Văn An", "date_of_birth": "2021-03-04"},
        "preferences": ["TH-001"], "guardian": {"full_name": "Nguyễn Thị Bình", "phone":
        "0912345678", "email": "binh@example.com", "language": "vi"}}'`
        """
        gateway = current_app.extensions["tuyensinh"]
        round_ = gateway.open_round(form["round_id"])
        if round_ is None:
            raise ApiError(409, "round_not_open", "That round is not open for applications.")
        if len(form["preferences"]) > round_["max_preferences"]:
            raise ApiError(
                400,
                "invalid",
                "Some fields are not valid.",
                {"preferences": [f"at most {round_['max_preferences']} schools"]},
            )
        reference = application_reference(
            gateway.reference_secret, form["round_id"], form["child"]["citizen_id"]
        )
        command = make_message(
            "submit_application",
            {**form, "reference": reference, "submitted_at": datetime.now(UTC)},
        )
        gateway.send_command("registration", command)
        return {"reference": reference, "status": "received"}, 202


@blp.route("/<string:reference>")
class Application(MethodView):
    """One application."""

    @blp.response(200, ApplicationView)
    @blp.alt_response(404, description="No such application.")
    def get(self, reference: str) -> dict[str, Any]:
        """Status and details of one application.

        Example: `curl localhost:8000/api/v1/applications/TSABCDEFGHIJKLMNOP`
        """
        with current_app.extensions["tuyensinh"].rpc.cluster() as rpc:
            return rpc.registration.get_application(reference)


@blp.route("/<string:reference>/withdraw")
class Withdrawal(MethodView):
    """Taking an application back while the round is open."""

    @blp.response(202, ApplicationAccepted)
    @blp.alt_response(404, description="No such application.")
    @blp.alt_response(409, description="The round is closed; applications are final.")
    @blp.alt_response(503, description="Busy or broker unreachable; nothing done. Retry-After.")
    def post(self, reference: str) -> tuple[dict[str, str], int]:
        """Withdraw an application; submitting again while the round is open undoes it.

        Example: `curl -X POST localhost:8000/api/v1/applications/TSABCDEFGHIJKLMNOP/withdraw`
        """
        gateway = current_app.extensions["tuyensinh"]
        with gateway.rpc.cluster() as rpc:
            application = rpc.registration.get_application(reference)
        if gateway.open_round(application["round_id"]) is None:
            raise ApiError(
                409, "round_closed", "The round is closed: applications can no longer change."
            )
        payload = {"reference": reference, "round_id": application["round_id"]}
        gateway.send_command("registration", make_message("withdraw_application", payload))
        return {"reference": reference, "status": "withdrawal_received"}, 202
