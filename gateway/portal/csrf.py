"""Cross-site request forgery guard for the portal's forms: one random token per session.

The session cookie is SameSite=Lax already; the token also stops a form posted from another
site in an older browser. Every POST form carries `csrf_token`; a POST without the right one
is refused before its view runs.
"""

from __future__ import annotations

import hmac
import secrets

from flask import request, session
from werkzeug.exceptions import BadRequest

FIELD = "csrf_token"


def token() -> str:
    """This session's token (made on first use), for the hidden field of a form."""
    if FIELD not in session:
        session[FIELD] = secrets.token_urlsafe(32)
    return str(session[FIELD])


def check() -> None:
    """`before_request`: refuse a state-changing request without the session's token."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    sent = request.form.get(FIELD, "")
    expected = session.get(FIELD, "")
    if not expected or not hmac.compare_digest(sent.encode(), str(expected).encode()):
        raise BadRequest("csrf")
