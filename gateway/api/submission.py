"""The submission path shared by parents and help desks: the round's window, the schools,
the child's claim, the instant that decides "in time", the durable command."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from flask import current_app, g

from gateway.auth.decorators import client_ip
from gateway.auth.ownership import Claims, claim_for, current_principal
from gateway.auth.roles import Principal
from gateway.backends import Backends, current_backends
from gateway.errors import ApiError
from gateway.logging import correlation_id
from gateway.references import application_reference
from gateway.windows import WindowsUnknown
from shared.contracts.envelope import make_message
from shared.preferences import preference_problems


@dataclass
class Caller:
    """Who submits, from which address, under which correlation ID and audited action;
    `objects` gathers what the request's audit entry names (reference, round) as it is known."""

    principal: Principal
    ip: str
    correlation_id: str
    action: str | None
    objects: dict[str, str] = field(default_factory=dict)


def submit_in_request(
    form: dict[str, Any], on_behalf: OnBehalf | None = None
) -> tuple[dict[str, str], int]:
    """`submit` for the current Flask request: its caller, its audit objects, and no gateway
    audit entry for a 202 (registration writes it with the application, gateway.hooks)."""
    backends = current_backends()
    refuse_when_backlogged(backends)
    caller = Caller(current_principal(), client_ip(), correlation_id() or "", g.audit_action)
    g.audit_objects = caller.objects
    answer = submit(backends, current_app.extensions["claims"], form, caller, on_behalf)
    g.audited_in_command = True
    return answer


def refuse_when_backlogged(backends: Backends) -> None:
    """503 + Retry-After, nothing published, when registration's queue is too deep (a worker
    with too many submissions in progress refuses earlier: gateway.backlog.SubmissionGate)."""
    if backends.backlog.overloaded():
        if backends.metrics is not None:
            backends.metrics.overloaded.labels(reason="backlog").inc()
        seconds = str(backends.config.get("BACKLOG_RETRY_AFTER_SECONDS", 30))
        raise ApiError(
            503,
            "busy",
            "Many families are applying right now. Nothing was saved; please try again "
            f"in {seconds} seconds.",
            headers={"Retry-After": seconds},
        )


def submit(
    backends: Backends,
    claims: Claims,
    form: dict[str, Any],
    caller: Caller,
    on_behalf: OnBehalf | None = None,
) -> tuple[dict[str, str], int]:
    """Check the round and the schools, claim the child for the caller's account (or, at a
    help point, for the family's: `on_behalf`), stamp, publish. Needs no Flask request: the
    submission route's own WSGI path (gateway.api.submit_door) calls it too."""
    round_ = accepting(backends, form["round_id"])
    refuse_bad_preferences(backends, form["preferences"], round_)
    reference = application_reference(
        backends.reference_secret, form["round_id"], form["child"]["citizen_id"]
    )
    caller.objects.update(reference=reference, round_id=form["round_id"])
    owner = on_behalf.family(form) if on_behalf else caller.principal.account_id
    claim_for(claims, reference, form["round_id"], owner)
    if on_behalf is None:
        return _stamp_and_publish(backends, form, reference, owner, caller)
    on_behalf.claimed(reference, form["round_id"], owner)
    try:
        help_point = caller.principal.help_point
        return _stamp_and_publish(backends, form, reference, owner, caller, help_point)
    except Exception:  # refused at the stamp, or not confirmed: nothing was stored
        on_behalf.not_sent(reference)
        raise


def _stamp_and_publish(
    backends: Backends,
    form: dict[str, Any],
    reference: str,
    owner: str,
    caller: Caller,
    help_point: str | None = None,
) -> tuple[dict[str, str], int]:
    """Stamp the submission's instant, check it is in time, publish the command durably."""
    # The instant that decides "in time", once for every service: taken after every check,
    # right before the publish. Registration honours any submission stamped inside the
    # window, however long it waits in the queue; none stamped outside it is answered 202.
    submitted_at = datetime.now(UTC)
    accepting(backends, form["round_id"], submitted_at)
    payload = {
        **form,
        "reference": reference,
        "submitted_at": submitted_at,
        "owner_id": owner,
        # The request's audit entry travels in the command: registration appends it in the
        # transaction that stores the application (the broker holds it once confirmed). A
        # 202 is answered only after that confirm, so the gateway writes no entry for it.
        "audit": {
            "action": caller.action,
            "actor_id": caller.principal.account_id,
            "role": caller.principal.role,
            "ip": caller.ip,
            "at": submitted_at,
        },
    }
    if help_point:
        payload["help_point"] = help_point
    # `form` passed SubmitApplicationRequest just now: the contract's second pass is skipped.
    command = make_message(
        "submit_application", payload, correlation_id=caller.correlation_id, check=False
    )
    backends.send_command("registration", command)
    return {"reference": reference, "status": "received"}, 202


class OnBehalf(Protocol):
    """A help desk submitting for a family: whose account, and what to keep about it."""

    def family(self, form: dict[str, Any]) -> str:
        """The family account the application belongs to (opened if need be)."""

    def claimed(self, reference: str, round_id: str, owner: str) -> None:
        """The child is claimed for the family: keep the registration, before the publish."""

    def not_sent(self, reference: str) -> None:
        """The publish failed (nothing stored): forget what `claimed` kept."""


def accepting(backends: Backends, round_id: str, at: datetime | None = None) -> dict[str, Any]:
    """The round, if a submission stamped `at` (default now) is inside its window; else 409.
    A 503 (nothing saved) if the windows could not be loaded recently enough to judge."""
    try:
        round_ = backends.open_round(round_id, at)
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


def refuse_bad_preferences(
    backends: Backends, preferences: list[str], round_: dict[str, Any]
) -> None:
    """400, per preference, for what the school directory already tells: too many schools,
    one twice, a code no school has, a school of another level. Nothing is published."""
    problems = preference_problems(
        preferences, round_["level"], round_["max_preferences"], backends.school_levels()
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
