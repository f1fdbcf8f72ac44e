"""flask-smorest tuned to the house error format: validation errors are 400, not 422; and a
multipart form of text fields and files read (and documented) as one body."""

from __future__ import annotations

from typing import Any

import flask
import flask_smorest
import marshmallow as ma
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import CombinedMultiDict
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from gateway.errors import ApiError, http_exception_response
from gateway.schemas import ErrorBody
from shared.corrections import MAX_EVIDENCE_BYTES

MULTIPART = "form_and_files"
# A form's text fields and one file of at most MAX_EVIDENCE_BYTES, with room for the parts'
# headers: a larger body is refused before it is read.
MAX_MULTIPART_BYTES = MAX_EVIDENCE_BYTES + 64 * 1024


class Parser(FlaskParser):
    """Request parsing with a 400 for invalid input."""

    DEFAULT_VALIDATION_STATUS = 400
    __location_map__ = dict(FlaskParser.__location_map__, **{MULTIPART: "load_form_and_files"})

    def load_form_and_files(self, req: flask.Request, schema: ma.Schema) -> Any:
        """A multipart body's text fields and files together; too large a body is a 400 on
        its file field (named by the schema's `FILE_FIELD`)."""
        req.max_content_length = MAX_MULTIPART_BYTES
        try:
            parts: list[Any] = [req.form, req.files]
            merged: CombinedMultiDict[str, Any] = CombinedMultiDict(parts)
        except RequestEntityTooLarge:
            field = getattr(schema, "FILE_FIELD", "file")
            limit = f"the file is larger than {MAX_EVIDENCE_BYTES // (1024 * 1024)} MB"
            raise ApiError(400, "invalid", "Some fields are not valid.", {field: [limit]}) from None
        return self._makeproxy(merged, schema)


class Blueprint(flask_smorest.Blueprint):
    """A blueprint whose arguments fail with 400."""

    ARGUMENTS_PARSER = Parser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {
        **flask_smorest.Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
        MULTIPART: "multipart/form-data",
    }


class Api(flask_smorest.Api):
    """The API, answering HTTP errors in `{"error": {...}}` form (and documenting them so)."""

    ERROR_SCHEMA = ErrorBody

    def handle_http_exception(self, error: HTTPException) -> Any:
        return http_exception_response(error)
