"""The portal's one way to the system: in-process requests to the gateway's own API, carrying
the user's bearer token. All of the token plumbing lives here.

A page never reads a service or a database itself. It asks the API exactly as an app would,
so authentication, roles, ownership (404s), rate limits, audit and metrics are the API's,
applied once, in one place. The tokens of a login are kept in the portal's session cookie
(signed; Secure, HttpOnly, SameSite=Lax: see gateway/portal/__init__.py), renewed with the
refresh token when the API says the access token expired, and forgotten on logout.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, request, session
from werkzeug.datastructures import Headers
from werkzeug.test import EnvironBuilder, run_wsgi_app

from gateway.auth.decorators import INNER
from gateway.auth.tokens import InvalidToken
from gateway.logging import HEADER, correlation_id

AUTH = "/api/v1/auth"


class SignedOut(Exception):
    """The session holds no usable login (never had one, or it expired): log in again."""


@dataclass
class Answer:
    """The API's answer: status, parsed JSON body (if any) and the raw bytes."""

    status: int
    body: Any
    data: bytes
    headers: Headers = field(default_factory=Headers)

    @property
    def ok(self) -> bool:
        """A 2xx answer."""
        return 200 <= self.status < 300

    @property
    def error(self) -> dict[str, Any]:
        """`{"code", "message", "fields"}` of an error answer (empty otherwise)."""
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            return dict(self.body["error"])
        return {}

    @property
    def code(self) -> str:
        """The error code of an error answer, e.g. `round_not_open`."""
        return str(self.error.get("code", ""))


class ApiClient:
    """Sends requests to the gateway's WSGI app in-process, as the browser's own client."""

    def __init__(self, wsgi_app: Any) -> None:
        self._wsgi = wsgi_app

    def send(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: dict[str, Any] | None = None,
        token: str | None = None,
        form: dict[str, Any] | None = None,
    ) -> Answer:
        """One request to the API; the caller's IP and correlation ID go along. `form` sends
        a multipart body instead of JSON (files as `(stream, filename, content_type)`)."""
        headers = Headers({HEADER: correlation_id() or "", "User-Agent": request.user_agent.string})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        builder = EnvironBuilder(
            path=path,
            method=method,
            json=body,
            data=form,
            query_string=query,
            headers=headers,
            # The address the portal saw (after any trusted proxy): per-IP limits and the
            # audit log see the person, not the portal.
            environ_base={"REMOTE_ADDR": request.remote_addr or "127.0.0.1", INNER: True},
        )
        try:
            app_iter, status, response_headers = run_wsgi_app(
                self._wsgi, builder.get_environ(), buffered=True
            )
            data = b"".join(app_iter)
        finally:
            builder.close()
        parsed = None
        if response_headers.get("Content-Type", "").startswith("application/json") and data:
            parsed = json.loads(data)
        return Answer(int(status.split()[0]), parsed, data, Headers(response_headers))


def _client() -> ApiClient:
    api: ApiClient = current_app.extensions["portal_api"]
    return api


def public(method: str, path: str, **kwargs: Any) -> Answer:
    """A request without a token (lookups, sign-up, login)."""
    return _client().send(method, path, **kwargs)


def as_user(method: str, path: str, **kwargs: Any) -> Answer:
    """A request as the signed-in user; renews the access token once if it has expired.

    Raises SignedOut when there is no login, or it cannot be renewed.
    """
    tokens = session.get("tokens")
    if not tokens:
        raise SignedOut()
    answer = _client().send(method, path, token=tokens["access"], **kwargs)
    if answer.status != 401:
        return answer
    if not _renew(tokens["refresh"]):
        forget()
        raise SignedOut()
    return _client().send(method, path, token=session["tokens"]["access"], **kwargs)


def log_in(body: dict[str, Any], path: str = f"{AUTH}/token") -> Answer:
    """Log in through the API (token, or sign-up verification); on success keep the tokens."""
    answer = public("POST", path, body=body)
    if answer.ok:
        remember(answer.body, who=str(body.get("phone") or body.get("username") or ""))
    return answer


def remember(pair: dict[str, Any], who: str | None = None) -> None:
    """Keep a token pair (and who and what the account is) in the session."""
    session["tokens"] = {"access": pair["access_token"], "refresh": pair["refresh_token"]}
    session["role"] = pair.get("role")
    try:  # whom the page's rate limits count (gateway.auth.decorators), not the address
        session["account"] = (
            current_app.extensions["auth"].tokens.verify(pair["access_token"]).account_id
        )
    except InvalidToken:
        session.pop("account", None)
    session["school"] = pair.get("school_code")
    if who is not None:
        session["who"] = who
    session.permanent = True


def log_out() -> None:
    """Revoke the login at the API (access and refresh tokens), then forget it here."""
    tokens = session.get("tokens")
    if tokens:
        refresh = {"refresh_token": tokens["refresh"]}
        _client().send("POST", f"{AUTH}/logout", body=refresh, token=tokens["access"])
    forget()


def forget() -> None:
    """Drop the login from the session (the CSRF token and preferences stay)."""
    for key in ("tokens", "role", "school", "who", "account"):
        session.pop(key, None)


def account() -> str | None:
    """The signed-in account's id (None: nobody): the key of the portal pages' rate limits."""
    return session.get("account") if session.get("tokens") else None


def role() -> str | None:
    """The role of the signed-in account, as the API said at login (None: nobody)."""
    return session.get("role") if session.get("tokens") else None


def school() -> str | None:
    """The school of a signed-in staff account."""
    return session.get("school") if role() == "staff" else None


def _renew(refresh_token: str) -> bool:
    answer = public("POST", f"{AUTH}/refresh", body={"refresh_token": refresh_token})
    if not answer.ok:
        return False
    remember(answer.body)
    return True
