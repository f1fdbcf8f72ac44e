"""`POST /api/v1/applications` without Flask's per-request machinery: the one route the whole
city calls at once gets its own WSGI path, doing what the guard, the view and the hooks do.

A profile of a gateway worker under P1 (py-spy, on-CPU) put Flask's request context, the
before/after hooks, webargs and flask-smorest's response dump at about a fifth of the CPU of
each 202, around a view whose own work is a check, a claim and a publish. Here that work is
the same code (gateway.api.submission.submit, the access rule of the Flask view, the same
schema instance, the same rate-limit counters, audit log, metrics and access line); only the
wrapping is gone.

What this path does not take itself goes to Flask unchanged, before anything is counted or
written, so those answers keep one implementation: no bearer token, a token that does not
verify, is revoked or is not a parent's; a body that is not a JSON object passing the schema,
or holds NUL; a query string; a request the portal makes for a page. Everything after that
(429, 503, 409, 400 for the schools, 202) is answered here, in the order the view answers it,
with the same bodies and headers. The OpenAPI description stays on the Flask view.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from io import BytesIO
from typing import Any

from flask import Flask
from marshmallow import ValidationError

from gateway.api.applications import SUBMISSION
from gateway.api.submission import Caller, refuse_when_backlogged, submit
from gateway.auth.decorators import INNER, Access, access_of
from gateway.backends import EXTENSION
from gateway.errors import INTERNAL, ApiError, error_body, known_error
from gateway.hooks import log_access
from gateway.logging import HEADER, chosen_correlation_id

log = logging.getLogger(__name__)
PATH = "/api/v1/applications"
ENDPOINT = "applications.Applications"  # the Flask view this path stands in for
Start = Callable[..., Any]


class SubmissionDoor:
    """WSGI middleware in front of the API's Flask app: takes parents' submissions itself."""

    def __init__(self, app: Flask, inner: Any) -> None:
        self.app, self.inner = app, inner
        self._access: Access | None = None

    def __call__(self, environ: dict[str, Any], start_response: Start) -> Iterable[bytes]:
        if (
            environ.get("REQUEST_METHOD") != "POST"
            or environ.get("PATH_INFO") != PATH
            or environ.get(INNER)
            or environ.get("QUERY_STRING")
        ):
            return self.inner(environ, start_response)
        started = time.perf_counter()
        taken = self._admit(environ)
        if taken is None:
            return self.inner(environ, start_response)
        caller, form = taken
        status, body, headers = self._answer(caller, form)
        return self._respond(start_response, caller, status, body, headers, started)

    @property
    def access(self) -> Access:
        """The Flask view's access rule: who may submit, what is audited, which limit counts."""
        if self._access is None:
            found = access_of(self.app, ENDPOINT, "POST")
            assert found is not None and found.limit is not None, "the view lost its rule"
            self._access = found
        return self._access

    def _admit(self, environ: dict[str, Any]) -> tuple[Caller, dict[str, Any]] | None:
        """The caller and the valid form, or None: Flask answers this request (it gets the
        body back to read). Nothing is counted or written here."""
        extensions = self.app.extensions
        try:
            principal = extensions["auth"].verify(environ.get("HTTP_AUTHORIZATION"))
        except ApiError:
            return None
        if principal.role not in self.access.roles:
            return None
        if extensions["checks"].denylist.is_revoked(principal.token_id):
            return None
        mimetype = environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
        length = environ.get("CONTENT_LENGTH")
        if mimetype != "application/json" or not length or not length.isdigit():
            return None
        raw = environ["wsgi.input"].read(int(length))
        environ["wsgi.input"] = BytesIO(raw)  # Flask reads it again if it answers
        if b"\\u0000" in raw:
            return None
        try:
            form: dict[str, Any] = SUBMISSION.load(json.loads(raw))
        except (ValueError, TypeError, RecursionError, ValidationError):
            return None  # not JSON, not an object, too deep, or not a valid form
        offered = environ.get("HTTP_X_CORRELATION_ID", "")
        ip = environ.get("REMOTE_ADDR") or "unknown"
        caller = Caller(principal, ip, chosen_correlation_id(offered), self.access.audit)
        return caller, form

    def _answer(
        self, caller: Caller, form: dict[str, Any]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """What the guard's limits and the view answer, as status, body and headers."""
        extensions = self.app.extensions
        backends = extensions[EXTENSION]
        principal, limit = caller.principal, self.access.limit
        try:
            account = str(principal.account_id)
            extensions["checks"].check(principal.token_id, limit, account, caller.ip)
            refuse_when_backlogged(backends)
            body, status = submit(backends, extensions["claims"], form, caller)
            return status, body, {}
        except Exception as exc:
            answer = known_error(exc, extensions["metrics"])
            if answer is None:
                log.exception("submission failed")
                answer = INTERNAL
            return answer.status, error_body(answer), answer.headers

    def _respond(
        self,
        start_response: Start,
        caller: Caller,
        status: int,
        body: dict[str, Any],
        headers: dict[str, str],
        started: float,
    ) -> list[bytes]:
        """Audit a refusal (a 202 is audited by registration, a 429 attempted nothing),
        count, log the access line, answer."""
        extensions = self.app.extensions
        if status not in (202, 429):
            self._audit(caller, status)
        elapsed = time.perf_counter() - started
        extensions["metrics"].answered(PATH, "POST", status, elapsed)
        role = caller.principal.role
        log_access("POST", PATH, status, elapsed, role, caller.ip, caller.correlation_id)
        payload = json.dumps(body, ensure_ascii=False).encode()
        start_response(
            f"{status} {HTTPStatus(status).phrase}",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(payload))),
                ("Cache-Control", "private, no-store"),
                (HEADER, caller.correlation_id),
                *headers.items(),
            ],
        )
        return [payload]

    def _audit(self, caller: Caller, status: int) -> None:
        extensions = self.app.extensions
        try:
            extensions["audit"].record(
                action=str(caller.action),
                actor_id=caller.principal.account_id,
                role=caller.principal.role,
                objects=caller.objects,
                status=status,
                ip=caller.ip,
                correlation_id=caller.correlation_id,
            )
        except Exception:
            log.exception("audit entry not written: action=%s", caller.action)
            extensions["metrics"].audit_failures.inc()
