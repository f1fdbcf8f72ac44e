"""flask-smorest tuned to the house error format: validation errors are 400, not 422."""

from __future__ import annotations

from typing import Any

import flask_smorest
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException

from gateway.errors import http_exception_response
from gateway.schemas import ErrorBody


class Parser(FlaskParser):
    """Request parsing with a 400 for invalid input."""

    DEFAULT_VALIDATION_STATUS = 400


class Blueprint(flask_smorest.Blueprint):
    """A blueprint whose arguments fail with 400."""

    ARGUMENTS_PARSER = Parser()


class Api(flask_smorest.Api):
    """The API, answering HTTP errors in `{"error": {...}}` form (and documenting them so)."""

    ERROR_SCHEMA = ErrorBody

    def handle_http_exception(self, error: HTTPException) -> Any:
        return http_exception_response(error)
