"""What happens around every request: correlation ID, access guard, audit entry, metrics and
one JSON access-log line."""

from __future__ import annotations

import logging
import re
import time

from flask import Flask, Response, current_app, g, request, session

from gateway.auth.decorators import access_of, client_ip, guard
from gateway.backends import current_backends
from gateway.errors import ApiError, error_response
from gateway.logging import HEADER, correlation_id

log = logging.getLogger("gateway.access")
# No identifier, code or text of this system holds control characters, and PostgreSQL text
# cannot hold NUL at all: such input is refused at the door, never passed to a service.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def install_hooks(app: Flask) -> None:
    """Register the before/after-request functions on the app."""
    app.before_request(_start)
    app.before_request(guard)
    app.before_request(_refuse_control_characters)
    app.after_request(_audit)
    app.after_request(_cache_control)
    app.after_request(_observe)


def _start() -> None:
    g.started = time.perf_counter()
    correlation_id()


def _refuse_control_characters() -> None:
    """A path naming nothing that can exist is 404; such a query or body is 400."""
    if any(_CONTROL.search(str(value)) for value in (request.view_args or {}).values()):
        raise ApiError(404, "not_found", "Nothing has that name.")
    bad = [key for key, value in request.args.items(multi=True) if _CONTROL.search(value)]
    if bad:
        raise ApiError(400, "invalid", "Some fields are not valid.", {k: ["not text"] for k in bad})
    if request.is_json and b"\\u0000" in request.get_data(cache=True):
        raise ApiError(400, "invalid", "Some fields are not valid.", {"json": ["holds NUL"]})


def _cache_control(response: Response) -> Response:
    """Who may keep the answer. A `shared` route's 200 to a caller with no credentials and no
    cookie is the same for every such caller: `public, max-age=PUBLIC_CACHE_SECONDS`, which
    HAProxy's cache (and a browser) may keep; its `Vary: Cookie` goes (Flask adds it when
    the page looked for a login, and found none: no cookie was sent). Anything asked with
    credentials or a cookie is `private, no-store`: it may hold someone's own data."""
    if "Cache-Control" in response.headers:  # the view decided (the portal's assets)
        return response
    signed = "Authorization" in request.headers or bool(request.cookies)
    rule = request.url_rule
    access = access_of(current_app, rule.endpoint, request.method) if rule else None
    seconds = int(current_backends().config.get("PUBLIC_CACHE_SECONDS", 0))
    if (
        not signed
        and access is not None
        and access.shared
        and seconds > 0
        and request.method in ("GET", "HEAD")
        and response.status_code == 200
        and "Set-Cookie" not in response.headers
    ):
        response.headers["Cache-Control"] = f"public, max-age={seconds}"
        response.vary.discard("Cookie")
        session.accessed = False  # else the portal's session adds `Vary: Cookie` on saving
    elif signed:
        response.headers["Cache-Control"] = "private, no-store"
    return response


def _audit(response: Response) -> Response:
    """Append the audit entry of an audited route (not for 429: nothing was attempted)."""
    action = g.get("audit_action")
    if not action or response.status_code == 429:
        return response
    if g.get("audited_in_command") and response.status_code == 202:
        return response  # registration writes it with the application (api/applications.py)
    principal = g.get("principal") or g.get("audit_actor")
    objects = {**(request.view_args or {}), **g.get("audit_objects", {})}
    try:
        current_app.extensions["audit"].record(
            action=action,
            actor_id=principal.account_id if principal else None,
            role=principal.role if principal else None,
            objects=objects,
            status=response.status_code,
            ip=client_ip(),
            correlation_id=correlation_id(),
        )
    except Exception:
        log.exception("audit entry not written: action=%s", action)
        current_app.extensions["metrics"].audit_failures.inc()
        if request.method == "GET" and response.status_code < 400:
            # A read of children's data that cannot be audited is not served.
            body, status, headers = error_response(
                503, "unavailable", "Please try again shortly.", headers={"Retry-After": "5"}
            )
            body.status_code = status
            body.headers.update(headers)
            return body
    return response


def _observe(response: Response) -> Response:
    """Count and time the request by route, send the correlation ID back, log one line."""
    rule = request.url_rule.rule if request.url_rule is not None else "unmatched"
    elapsed = time.perf_counter() - g.get("started", time.perf_counter())
    method, status = request.method, response.status_code
    current_app.extensions["metrics"].answered(rule, method, status, elapsed)
    response.headers[HEADER] = correlation_id() or ""
    principal = g.get("principal")
    log_access(method, rule, status, elapsed, principal.role if principal else None, client_ip())
    return response


def log_access(
    method: str,
    route: str,
    status: int,
    elapsed: float,
    role: str | None,
    ip: str,
    correlation: str | None = None,
) -> None:
    """The request's one JSON access line (not even built when INFO is off). `correlation`:
    the request's ID where there is no Flask request to find it in."""
    if not log.isEnabledFor(logging.INFO):
        return
    extra = {
        "method": method,
        "route": route,
        "status": status,
        "duration_ms": round(elapsed * 1000, 2),
        "role": role,
        "ip": ip,
    }
    if correlation is not None:
        extra["correlation_id"] = correlation
    log.info("%s %s %s", method, route, status, extra=extra)
