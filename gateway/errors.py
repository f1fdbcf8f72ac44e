"""The one place where failures become HTTP answers: `{"error": {"code", "message", "fields"}}`."""

from __future__ import annotations

from typing import Any

from amqp.exceptions import AMQPError
from flask import Flask, Response, jsonify
from kombu.exceptions import OperationalError
from nameko.amqp.publish import UndeliverableMessage
from nameko.exceptions import RemoteError, RpcTimeout
from werkzeug.exceptions import HTTPException

RETRY_AFTER_SECONDS = 5

# Exceptions the services declare in expected_exceptions, by their type name.
REMOTE_ERRORS: dict[str, tuple[int, str, str]] = {
    "ApplicationNotFound": (404, "not_found", "No such application."),
    "RoundNotFound": (404, "not_found", "No such round."),
    "WardNotFound": (404, "not_found", "No ward has that code."),
    "InvalidTransition": (409, "invalid_transition", "The round is not in a state for that."),
}

# The broker or a service cannot be reached: the answer is "come back later", never a 500.
UNAVAILABLE = (OSError, OperationalError, AMQPError, RpcTimeout, UndeliverableMessage)


class ApiError(Exception):
    """An error the gateway answers itself."""

    def __init__(
        self, status: int, code: str, message: str, fields: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields or {}


def error_response(
    status: int,
    code: str,
    message: str,
    fields: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[Response, int, dict[str, str]]:
    """The JSON error body every route uses."""
    body = {"error": {"code": code, "message": message, "fields": fields or {}}}
    return jsonify(body), status, headers or {}


def http_exception_response(error: HTTPException) -> tuple[Response, int, dict[str, str]]:
    """Werkzeug and webargs errors; validation errors list their fields."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") or {}
    if messages:
        fields = {key: value for location in messages.values() for key, value in location.items()}
        return error_response(400, "invalid", "Some fields are not valid.", fields)
    code = (error.name or "error").lower().replace(" ", "_")
    return error_response(status, code, error.description or error.name or "Error")


def register_error_handlers(app: Flask) -> None:
    """Attach the mapping to the app."""

    @app.errorhandler(ApiError)
    def _api_error(error: ApiError) -> Any:
        return error_response(error.status, error.code, error.message, error.fields)

    @app.errorhandler(RemoteError)
    def _remote_error(error: RemoteError) -> Any:
        mapped = REMOTE_ERRORS.get(error.exc_type)
        if mapped is None:
            app.logger.error("unexpected remote error %s", error.exc_type)
            return error_response(500, "internal", "Something went wrong on our side.")
        return error_response(*mapped)

    def _unavailable(error: Exception) -> Any:
        app.logger.warning("backend unavailable: %s", type(error).__name__)
        return error_response(
            503,
            "unavailable",
            "The service is busy or restarting. Nothing was saved; please try again shortly.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    for exception in UNAVAILABLE:
        app.register_error_handler(exception, _unavailable)
