"""Who may call each route: `@public(...)` or `@require(role, ...)` on every view.

The decorators only attach an `Access` record (and document it in the OpenAPI spec); the
app's one `before_request` guard enforces it, in this order: a valid token (401), the role
(403), then the route's rate limit (429). The limit counts the account where one is known
(a token, or a signed-in portal session), else the client's address; every request is also
counted against a high per-address ceiling (`ip_ceiling`), a guard against floods only:
families behind one carrier-NAT address must not lock each other out. A route without a
record is refused: deny by default, so a new route cannot go out open by accident.
Object-level checks (whose application, which school) happen in the view, and answer 404
(gateway.auth.ownership).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask, current_app, g, request

from gateway.auth.roles import ROLES
from gateway.errors import ApiError, forbidden

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

# Routes that Flask and flask-smorest add themselves: the spec, the docs page, static files.
BUILTIN_PUBLIC = frozenset(
    {"static", "api-docs.openapi_json", "api-docs.openapi_swagger_ui", "api-docs.openapi_redoc"}
)
BEARER = "bearerAuth"
ACCESS_RULES = "access_rules"  # `app.extensions` key: (endpoint, method) -> Access, known


@dataclass(frozen=True)
class Access:
    """Who may call a view, what is audited, which rate limit counts it."""

    roles: frozenset[str]  # empty: public
    audit: str | None = None
    limit: str | None = None
    shared: bool = False  # the same for every anonymous caller: a proxy may keep it briefly

    @property
    def public(self) -> bool:
        """Whether anyone may call it, without a token."""
        return not self.roles


def public(
    *, limit: str | None = None, audit: str | None = None, shared: bool = False
) -> Callable[[F], F]:
    """Anyone may call the view; `limit` counts per signed-in account (a portal page with a
    session), else per client IP. `shared`: its answer to a caller without credentials or
    cookies is the same for all of them, and says so (`Cache-Control: public`, gateway.hooks)."""
    return _mark(Access(frozenset(), audit, limit, shared))


def require(*roles: str, audit: str | None = None, limit: str | None = None) -> Callable[[F], F]:
    """Only a valid token of one of `roles`; `audit` names the action written to the audit
    log; `limit` counts per account."""
    unknown = set(roles) - set(ROLES)
    if not roles or unknown:
        raise ValueError(f"require() needs roles among {ROLES}, not {sorted(unknown)}")
    return _mark(Access(frozenset(roles), audit, limit))


def _mark(access: Access) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        view._access = access  # type: ignore[attr-defined]
        doc = deepcopy(getattr(view, "_apidoc", {}))
        responses = doc.setdefault("response", {}).setdefault("responses", {})
        if not access.public:
            manual = doc.setdefault("manual_doc", {})
            manual["security"] = [{BEARER: []}]
            responses.setdefault(401, []).append("UNAUTHORIZED")
            responses.setdefault(403, []).append("FORBIDDEN")
        if access.limit:
            responses.setdefault(429, []).append("TOO_MANY_REQUESTS")
        view._apidoc = doc  # type: ignore[attr-defined]
        return view

    return decorate


def access_of(app: Flask, endpoint: str, method: str) -> Access | None:
    """The Access record of the view serving `endpoint` for `method`, if it has one (looked
    up once per worker: the guard and the cache hook ask it on every request)."""
    known: dict[tuple[str, str], Access | None] = app.extensions.setdefault(ACCESS_RULES, {})
    key = (endpoint, method)
    if key not in known:
        known[key] = _access_of(app, endpoint, method)
    return known[key]


def _access_of(app: Flask, endpoint: str, method: str) -> Access | None:
    view = app.view_functions.get(endpoint)
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        handler = getattr(view_class, method.lower(), None)
        if handler is None and method == "HEAD":
            handler = getattr(view_class, "get", None)
        return getattr(handler, "_access", None)
    return getattr(view, "_access", None)


def client_ip() -> str:
    """The caller's address (behind `TRUSTED_PROXIES` proxies, the one they saw)."""
    return request.remote_addr or "unknown"


# Set in the environ of a request the portal makes to the API on behalf of a page: the page
# was counted against its address's ceiling already; the API counts its account as usual.
INNER = "tuyensinh.inner_request"
# `app.extensions[SUBJECT]`: a callable naming the signed-in account of a request that
# carries no token (the portal's session), or None.
SUBJECT = "rate_limit_subject"


def _counted(principal: Any, limit: str) -> tuple[str, str]:
    """The limit and key that count this request: the token's account, else the portal
    session's account, else the address, against `<limit>_ip` where that is configured
    (an address may be a whole neighbourhood behind carrier NAT: a higher rate)."""
    if principal is not None:
        return limit, str(principal.account_id)
    subject = current_app.extensions.get(SUBJECT)
    account = subject() if subject is not None else None
    if account:
        return limit, f"account:{account}"
    by_address = f"{limit}_ip"
    names = current_app.extensions["ratelimits"].names
    return (by_address if by_address in names else limit), client_ip()


def guard() -> None:
    """`before_request`: authenticate, authorise by role, count the rate limit."""
    rule = request.url_rule
    if rule is None or request.method == "OPTIONS":
        return  # 404/405 answer by themselves; OPTIONS lists methods, nothing else
    access = access_of(current_app, rule.endpoint, request.method)
    if access is None:
        if rule.endpoint in BUILTIN_PUBLIC:
            return
        log.error("route %s %s has no access rule: refused", request.method, rule.rule)
        raise ApiError(403, "route_not_authorised", "This route is not open to anyone yet.")
    g.audit_action = access.audit
    principal = None
    if not access.public:
        principal = current_app.extensions["auth"].verify(request.headers.get("Authorization"))
        g.principal = principal
    allowed = principal is None or principal.role in access.roles
    limit = access.limit if allowed else None  # a refused role is not counted
    key, ip = None, None
    if limit:
        limit, key = _counted(principal, limit)
        ip = None if request.environ.get(INNER) else client_ip()
    # Revoked (401) before the role (403) before the limits (429): one Redis round trip.
    current_app.extensions["checks"].check(principal and principal.token_id, limit, key, ip)
    if not allowed:
        raise forbidden()
