"""The one place where failures become HTTP answers: `{"error": {"code", "message", "fields"}}`."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from amqp.exceptions import AMQPError
from flask import Flask, Response, jsonify
from nameko.amqp.publish import UndeliverableMessage
from nameko.exceptions import RemoteError, RpcTimeout
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from gateway.livefigures import FiguresUnavailable
from gateway.windows import WindowsUnknown
from shared.db.errors import database_unavailable
from shared.messaging.bus import CONNECTION_LOST

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 5


@dataclass(frozen=True)
class RemoteAnswer:
    """The answer to an exception a service declares in expected_exceptions.

    `detail` says what the service's own message (the exception's value) becomes:
    - None: nothing; `message` is the answer's;
    - "shown": the answer's message, for the errors whose message says exactly what is wrong
      (counts, statuses, ids, never a child's data);
    - "code": the answer's code (a stable word), worded by `wording` (else `message`);
    - "fields": per-field problems, as JSON (the answer's `fields`).
    """

    status: int
    code: str
    message: str
    detail: Literal["shown", "code", "fields"] | None = None
    wording: Mapping[str, str] = field(default_factory=dict)

    def error(self, value: str = "") -> ApiError:
        """This answer as the gateway's own error, with the service's message `value`."""
        if self.detail == "shown":
            return ApiError(self.status, self.code, value or self.message)
        if self.detail == "code":
            return ApiError(self.status, value, self.wording.get(value, self.message))
        if self.detail == "fields":
            return ApiError(self.status, self.code, self.message, json.loads(value))
        return ApiError(self.status, self.code, self.message)


# Every exception the services declare, by its type name: the one table (STYLE.md 6).
REMOTE_ERRORS: dict[str, RemoteAnswer] = {
    "ApplicationNotFound": RemoteAnswer(404, "not_found", "No such application."),
    "RoundNotFound": RemoteAnswer(404, "not_found", "No such round."),
    "WardNotFound": RemoteAnswer(404, "not_found", "No ward has that code."),
    "InvalidTransition": RemoteAnswer(
        409, "invalid_transition", "The round is not in a state for that.", "shown"
    ),
    "InvalidRound": RemoteAnswer(
        400, "invalid_round", "The round's options are not acceptable.", "shown"
    ),
    "RoundExists": RemoteAnswer(409, "round_exists", "That round exists already."),
    "IntakeNotComplete": RemoteAnswer(
        409, "intake_not_complete", "Not every application is verified yet.", "shown"
    ),
    "RoundBusy": RemoteAnswer(
        409, "round_busy", "A job is queued for the round, or its preview is stale.", "shown"
    ),
    "RoundNotSettled": RemoteAnswer(
        409, "round_not_settled", "Offers of the round still await an answer.", "shown"
    ),
    "SchoolNotFound": RemoteAnswer(
        404, "not_found", "No such school, or no published intake for it."
    ),
    "OfferNotFound": RemoteAnswer(404, "not_found", "No offer for that application."),
    "SeatConflict": RemoteAnswer(
        409, "seat_conflict", "The seat is not in a state for that.", "shown"
    ),
    "CorrectionNotFound": RemoteAnswer(404, "not_found", "No such correction request."),
    "CorrectionAlreadyDecided": RemoteAnswer(
        409, "already_decided", "The request was decided already."
    ),
    # Registration says which rule refused the request: the code, worded here.
    "CorrectionNotAllowed": RemoteAnswer(
        409,
        "not_allowed",
        "Not possible now.",
        "code",
        {
            "not_rejected_by_register": "Only an application rejected because of the register "
            "data can ask for a correction.",
            "round_closed": "The round is closed: corrections can no longer be asked for.",
            "request_pending": "A correction request of this application is still being reviewed.",
        },
    ),
    "InvalidCorrection": RemoteAnswer(400, "invalid", "Some fields are not valid.", "fields"),
    "OtpNotSent": RemoteAnswer(
        503, "code_not_sent", "The code could not be sent; try again shortly."
    ),
    "OtpRateLimited": RemoteAnswer(
        429, "too_many_requests", "Too many codes for this phone lately."
    ),
}

# The broker or a service cannot be reached: the answer is "come back later", never a 500.
UNAVAILABLE = (
    *CONNECTION_LOST,
    AMQPError,  # a channel error too: the broker refused the operation
    RpcTimeout,
    UndeliverableMessage,
    WindowsUnknown,  # the rounds' windows could not be loaded recently enough to judge
    FiguresUnavailable,  # live figures late or failing lately (gateway/livefigures.py)
)


class ApiError(Exception):
    """An error the gateway answers itself."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields or {}
        self.headers = headers or {}


def not_found(exc_type: str = "ApplicationNotFound") -> ApiError:
    """The very answer a missing object of that kind gets: what someone else's object gets.

    Object-level refusals use this, so "not yours" and "not there" cannot be told apart.
    """
    return REMOTE_ERRORS[exc_type].error()


def unauthenticated(message: str = "Log in first: this needs a valid bearer token.") -> ApiError:
    """401, with the challenge a client needs to know how to authenticate."""
    return ApiError(401, "unauthenticated", message, headers={"WWW-Authenticate": "Bearer"})


def forbidden() -> ApiError:
    """403: the caller is known, but their role may not use this route at all."""
    return ApiError(403, "forbidden", "Your account's role may not do this.")


def error_response(
    status: int,
    code: str,
    message: str,
    fields: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[Response, int, dict[str, str]]:
    """The JSON error body every route uses."""
    body = error_body(ApiError(status, code, message, fields))
    return jsonify(body), status, headers or {}


def http_exception_response(error: HTTPException) -> tuple[Response, int, dict[str, str]]:
    """Werkzeug and webargs errors; validation errors list their fields."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") or {}
    if messages:
        fields: dict[str, Any] = {}
        for location, found in messages.items():
            # Per-field messages of a location; a list is about the location as a whole
            # (e.g. `{"json": ["Invalid JSON body."]}`).
            fields.update(found if isinstance(found, dict) else {location: found})
        return error_response(400, "invalid", "Some fields are not valid.", _keys_as_text(fields))
    code = (error.name or "error").lower().replace(" ", "_")
    # The exception's own headers stay (a 405's `Allow`, which RFC 9110 requires); the
    # body is ours, so its Content-Type is too.
    headers = {name: value for name, value in error.get_headers() if name.lower() != "content-type"}
    return error_response(status, code, error.description or error.name or "Error", None, headers)


def _keys_as_text(messages: Any) -> Any:
    """marshmallow keys a list item's messages by its index (an int) beside names such as
    `_schema`: JSON would turn both into strings, but sorting the mixed keys first fails."""
    if isinstance(messages, dict):
        return {str(key): _keys_as_text(value) for key, value in messages.items()}
    if isinstance(messages, list):
        return [_keys_as_text(value) for value in messages]
    return messages


def known_error(error: Exception, metrics: Any = None) -> ApiError | None:
    """The answer to an error the gateway knows, without Flask: its own, a service's declared
    one, a backend away or restarting (503, counted in `metrics`); None for anything else."""
    if isinstance(error, ApiError):
        return error
    if isinstance(error, RemoteError):
        mapped = REMOTE_ERRORS.get(error.exc_type)
        if mapped is None:
            log.error("unexpected remote error %s", error.exc_type)
            return None
        answer = mapped.error(str(error.value))
        if answer.status in (429, 503):  # "come back later" always says when
            seconds = re.search(r"retry after (\d+)", str(error.value))
            answer.headers["Retry-After"] = (
                seconds.group(1) if seconds else str(RETRY_AFTER_SECONDS)
            )
        return answer
    # The gateway's own database restarting is "come back later", like a broker away; any
    # other database error stays a server error.
    if isinstance(error, UNAVAILABLE) or (
        isinstance(error, DBAPIError) and database_unavailable(error)
    ):
        log.warning("backend unavailable: %s", type(error).__name__)
        if metrics is not None:
            metrics.overloaded.labels(reason="unavailable").inc()
        return ApiError(
            503,
            "unavailable",
            "The service is busy or restarting. Nothing was saved; please try again shortly.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return None


def error_body(error: ApiError) -> dict[str, Any]:
    """The JSON error body every route uses, of `error`."""
    return {"error": {"code": error.code, "message": error.message, "fields": error.fields}}


INTERNAL = ApiError(500, "internal", "Something went wrong on our side.")


def register_error_handlers(app: Flask) -> None:
    """Attach the mapping to the app."""

    def _known(error: Exception) -> Any:
        answer = known_error(error, app.extensions.get("metrics"))
        if answer is None:
            if isinstance(error, RemoteError):
                answer = INTERNAL
            else:
                raise error
        return jsonify(error_body(answer)), answer.status, answer.headers

    for exception in (ApiError, RemoteError, *UNAVAILABLE, DBAPIError):
        app.register_error_handler(exception, _known)
