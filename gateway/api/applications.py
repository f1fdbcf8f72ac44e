"""Parents' applications: submit (queue-based load levelling) and follow their own.

Every route is for parents, and only for their own applications: another family's
reference answers 404, exactly as an unknown one does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from flask import current_app, g
from flask.views import MethodView

from gateway.auth.decorators import client_ip, require
from gateway.auth.ownership import claim_application, current_principal, owned_application
from gateway.auth.roles import PARENT
from gateway.backends import Backends
from gateway.errors import ApiError
from gateway.logging import correlation_id
from gateway.references import application_reference
from gateway.schemas import (
    ApplicationAccepted,
    ApplicationView,
    ErrorBody,
    SubmitApplicationRequest,
)
from gateway.smorest import Blueprint
from gateway.windows import WindowsUnknown
from shared.events import ERASABLE_STATUSES, make_message
from shared.preferences import preference_problems

blp = Blueprint("applications", __name__, url_prefix="/api/v1/applications")
# One schema instance for every submission: given the class, webargs would build a new
# schema (and its nested ones) per request, a third of the gateway's CPU at peak.
SUBMISSION = SubmitApplicationRequest()


def _refuse_when_backlogged(gateway: Backends) -> None:
    """503 + Retry-After, nothing published, when registration's queue is too deep (a worker
    with too many submissions in progress refuses earlier: gateway.backlog.SubmissionGate)."""
    if gateway.backlog.overloaded():
        current_app.extensions["metrics"].overloaded.labels(reason="backlog").inc()
        seconds = str(gateway.config.get("BACKLOG_RETRY_AFTER_SECONDS", 30))
        raise ApiError(
            503,
            "busy",
            "Many families are applying right now. Nothing was saved; please try again "
            f"in {seconds} seconds.",
            headers={"Retry-After": seconds},
        )


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
        gateway = current_app.extensions["tuyensinh"]
        _refuse_when_backlogged(gateway)
        return _submit(gateway, form)

    @require(PARENT, limit="account")
    @blp.response(200, ApplicationView(many=True))
    def get(self) -> list[dict[str, Any]]:
        """The applications this account submitted, newest first.

        Example: `curl localhost:8000/api/v1/applications -H 'Authorization: Bearer ...'`
        """
        owner = current_principal().account_id
        with current_app.extensions["tuyensinh"].rpc.cluster() as rpc:
            applications: list[dict[str, Any]] = rpc.registration.list_applications(owner)
            found = rpc.allocation.get_results([a["reference"] for a in applications])
        return [{**a, "result": found.get(a["reference"])} for a in applications]


def _submit(
    gateway: Backends, form: dict[str, Any], on_behalf: OnBehalf | None = None
) -> tuple[dict[str, str], int]:
    """Check the round and the schools, claim the child for this account (or, at a help
    point, for the family's: `on_behalf`), stamp, publish."""
    round_ = _accepting(gateway, form["round_id"])
    _refuse_bad_preferences(gateway, form["preferences"], round_)
    reference = application_reference(
        gateway.reference_secret, form["round_id"], form["child"]["citizen_id"]
    )
    g.audit_objects = {"reference": reference, "round_id": form["round_id"]}
    principal = current_principal()
    owner = on_behalf.family(form) if on_behalf else principal.account_id
    claim_application(reference, form["round_id"], owner)
    if on_behalf:
        on_behalf.claimed(reference, form["round_id"], owner)
    # The instant that decides "in time", once for every service: taken after every check,
    # right before the publish. Registration honours any submission stamped inside the
    # window, however long it waits in the queue; none stamped outside it is answered 202.
    submitted_at = datetime.now(UTC)
    _accepting(gateway, form["round_id"], submitted_at)
    payload = {
        **form,
        "reference": reference,
        "submitted_at": submitted_at,
        "owner_id": owner,
        # The request's audit entry travels in the command: registration appends it in the
        # transaction that stores the application (the broker holds it once confirmed). A
        # 202 is answered only after that confirm, so the gateway writes no entry for it.
        "audit": {
            "action": g.audit_action,
            "actor_id": principal.account_id,
            "role": principal.role,
            "ip": client_ip(),
            "at": submitted_at,
        },
    }
    if on_behalf:
        payload["help_point"] = principal.help_point
    # `form` passed SubmitApplicationRequest just now: the contract's second pass is skipped.
    command = make_message(
        "submit_application", payload, correlation_id=correlation_id(), check=False
    )
    try:
        gateway.send_command("registration", command)
    except Exception:
        if on_behalf:
            on_behalf.not_sent(reference)
        raise
    g.audited_in_command = True
    return {"reference": reference, "status": "received"}, 202


class OnBehalf(Protocol):
    """A help desk submitting for a family: whose account, and what to keep about it."""

    def family(self, form: dict[str, Any]) -> str:
        """The family account the application belongs to (opened if need be)."""

    def claimed(self, reference: str, round_id: str, owner: str) -> None:
        """The child is claimed for the family: keep the registration, before the publish."""

    def not_sent(self, reference: str) -> None:
        """The publish failed (nothing stored): forget what `claimed` kept."""


def _accepting(gateway: Backends, round_id: str, at: datetime | None = None) -> dict[str, Any]:
    """The round, if a submission stamped `at` (default now) is inside its window; else 409.
    A 503 (nothing saved) if the windows could not be loaded recently enough to judge."""
    try:
        round_ = gateway.open_round(round_id, at)
    except WindowsUnknown:
        raise ApiError(
            503,
            "busy",
            "We cannot confirm the round is open right now. Nothing was saved; please try "
            "again in a few seconds.",
            headers={"Retry-After": "5"},
        ) from None
    if round_ is None:
        raise ApiError(409, "round_not_open", "That round is not open for applications.")
    return round_


def _refuse_bad_preferences(
    gateway: Backends, preferences: list[str], round_: dict[str, Any]
) -> None:
    """400, per preference, for what the school directory already tells: too many schools,
    one twice, a code no school has, a school of another level. Nothing is published."""
    problems = preference_problems(
        preferences, round_["level"], round_["max_preferences"], gateway.school_levels()
    )
    if not problems:
        return
    words = {"max": round_["max_preferences"], "level": round_["level"]}
    whole = [DOOR_MESSAGES[p.code].format(**words) for p in problems if p.position is None]
    # The list's own problems first (too many, one twice), as a list; else each school's, by
    # its index in the list (0-based, as every 400 of a list item is).
    fields: dict[str, Any] = {"preferences": whole} if whole else {"preferences": {}}
    for problem in problems if not whole else ():
        index = str((problem.position or 1) - 1)
        fields["preferences"].setdefault(index, []).append(
            DOOR_MESSAGES[problem.code].format(**words)
        )
    raise ApiError(400, "invalid", "Some fields are not valid.", fields)


DOOR_MESSAGES = {
    "empty": "choose at least one school",
    "too_many": "at most {max} schools",
    "duplicate": "each school may be chosen once",
    "unknown_school": "no school has this code",
    "wrong_level": "this school does not admit {level} pupils",
}


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
        with current_app.extensions["tuyensinh"].rpc.cluster() as rpc:
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
        gateway = current_app.extensions["tuyensinh"]
        application = owned_application(reference)
        try:
            _accepting(gateway, application["round_id"])
        except ApiError as error:
            if error.code != "round_not_open":
                raise
            raise ApiError(
                409, "round_closed", "The round is closed: applications can no longer change."
            ) from None
        payload = {"reference": reference, "round_id": application["round_id"]}
        command = make_message("withdraw_application", payload, correlation_id=correlation_id())
        gateway.send_command("registration", command)
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
        gateway = current_app.extensions["tuyensinh"]
        application = owned_application(reference)
        if not erasable(application):
            raise ApiError(
                409,
                "holds_a_place",
                "Your child holds a seat or a waitlist place in this round: decline it first,"
                " then ask again.",
            )
        payload = {"reference": reference, "round_id": application["round_id"]}
        command = make_message("request_erasure", payload, correlation_id=correlation_id())
        gateway.send_command("registration", command)
        return {"reference": reference, "status": "erasure_requested"}, 202


def erasable(application: dict[str, Any]) -> bool:
    """Whether an application may be erased now: its round is open (it is withdrawn first),
    or the child holds no seat and no waitlist place. The round's status is asked afresh
    (the cached list of open rounds may be seconds old); registration checks again."""
    if application["status"] in ERASABLE_STATUSES:
        return True
    with current_app.extensions["tuyensinh"].rpc.cluster() as rpc:
        round_ = rpc.allocation.get_round(application["round_id"])
    return bool(round_["status"] == "open")
