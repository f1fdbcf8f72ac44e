"""Accounts and tokens: parents sign up by phone (verified by a texted code), everyone logs
in for a short-lived bearer token and a refresh token; logout revokes both."""

from __future__ import annotations

from typing import Any

from flask import current_app, g

from gateway.api.applications import holding_a_place
from gateway.auth import accounts
from gateway.auth.decorators import public, require
from gateway.auth.ownership import current_principal
from gateway.auth.roles import PARENT, ROLES, Principal
from gateway.auth.schemas import (
    AccountView,
    CodeRequest,
    CodeSent,
    LogoutRequest,
    RefreshRequest,
    SignUpRequest,
    TokenPair,
    TokenRequest,
    VerifyRequest,
)
from gateway.auth.service import Session
from gateway.backends import current_backends
from gateway.db import utcnow
from gateway.errors import ApiError
from gateway.logging import correlation_id
from gateway.schemas import AccountErasure, ErrorBody
from gateway.smorest import Blueprint
from shared.contracts.envelope import make_message

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth")


def _auth() -> Any:
    return current_app.extensions["auth"]


def _limit(name: str, key: str) -> None:
    current_app.extensions["ratelimits"].hit(name, key)


def _logged_in(session: Session) -> dict[str, Any]:
    g.audit_actor = session.principal
    return session.body


@blp.route("/signup", methods=["POST"])
@public(limit="signup_ip", audit="auth.sign_up")
@blp.arguments(SignUpRequest)
@blp.response(202, CodeSent)
@blp.alt_response(400, schema=ErrorBody, description="Phone or password not acceptable.")
@blp.alt_response(503, schema=ErrorBody, description="The code could not be sent. Retry-After.")
def sign_up(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Start a parent account: a code is texted to the phone, to confirm with /signup/verify.

    The answer is the same whether or not the phone already has an account.
    Example: `curl -X POST localhost:8000/api/v1/auth/signup -H 'Content-Type:
    application/json' -d '{"phone": "0912345678", "password": "a long passphrase"}'`
    """
    _limit("code_phone", body["phone"])
    account_id = _auth().sign_up(body["phone"], body["password"], body["language"])
    if account_id is not None:
        g.audit_actor = Principal(account_id, "parent")
    return {"status": "code_sent", "expires_in": _auth().codes.ttl.seconds}, 202


@blp.route("/signup/verify", methods=["POST"])
@public(limit="login_ip", audit="auth.verify_phone")
@blp.arguments(VerifyRequest)
@blp.response(200, TokenPair)
@blp.alt_response(400, schema=ErrorBody, description="The code is wrong or expired.")
def verify(body: dict[str, Any]) -> dict[str, Any]:
    """Confirm the phone with the texted code; the answer logs the parent in.

    Example: `curl -X POST localhost:8000/api/v1/auth/signup/verify -H 'Content-Type:
    application/json' -d '{"phone": "0912345678", "code": "123456"}'`
    """
    return _logged_in(_auth().verify_phone(body["phone"], body["code"]))


@blp.route("/code", methods=["POST"])
@public(limit="signup_ip")
@blp.arguments(CodeRequest)
@blp.response(202, CodeSent)
@blp.alt_response(503, schema=ErrorBody, description="The code could not be sent. Retry-After.")
def send_code(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Text a login code to a parent's verified phone (then log in with `phone` + `code`).

    Example: `curl -X POST localhost:8000/api/v1/auth/code -H 'Content-Type:
    application/json' -d '{"phone": "0912345678"}'`
    """
    _limit("code_phone", body["phone"])
    _auth().send_login_code(body["phone"])
    return {"status": "code_sent", "expires_in": _auth().codes.ttl.seconds}, 202


@blp.route("/token", methods=["POST"])
@public(limit="login_ip", audit="auth.log_in")
@blp.arguments(TokenRequest)
@blp.response(200, TokenPair)
@blp.alt_response(401, schema=ErrorBody, description="Wrong credentials (one answer for all).")
def token(body: dict[str, Any]) -> dict[str, Any]:
    """Log in: parents with `phone` + `password` (or `code`), staff and the department with
    `username` + `password`. Answers an access token (15 minutes) and a refresh token.

    Example: `curl -X POST localhost:8000/api/v1/auth/token -H 'Content-Type:
    application/json' -d '{"phone": "0912345678", "password": "a long passphrase"}'`
    """
    identifier = body.get("phone") or body["username"]
    _limit("login_account", str(identifier).lower())
    if "code" in body:
        return _logged_in(_auth().log_in_with_code(body["phone"], body["code"]))
    by_phone = "phone" in body
    return _logged_in(_auth().log_in_with_password(identifier, body["password"], by_phone))


@blp.route("/refresh", methods=["POST"])
@public(limit="login_ip", audit="auth.refresh")
@blp.arguments(RefreshRequest)
@blp.response(200, TokenPair)
@blp.alt_response(401, schema=ErrorBody, description="Unknown, used, expired or revoked.")
def refresh(body: dict[str, Any]) -> dict[str, Any]:
    """Swap a refresh token for a new pair; each refresh token works once.

    Example: `curl -X POST localhost:8000/api/v1/auth/refresh -H 'Content-Type:
    application/json' -d '{"refresh_token": "..."}'`
    """
    return _logged_in(_auth().refresh(body["refresh_token"]))


@blp.route("/logout", methods=["POST"])
@require(*ROLES, limit="account", audit="auth.log_out")
@blp.arguments(LogoutRequest)
@blp.response(204)
def logout(body: dict[str, Any]) -> None:
    """Revoke this access token now, and the refresh token of the login if it is given.

    Example: `curl -X POST localhost:8000/api/v1/auth/logout -H 'Authorization: Bearer ...'
    -H 'Content-Type: application/json' -d '{"refresh_token": "..."}'`
    """
    _auth().log_out(current_principal(), body.get("refresh_token"))


@blp.route("/me")
@require(*ROLES, limit="account")
@blp.response(200, AccountView)
def me() -> dict[str, Any]:
    """Who the token belongs to: account id, role, and the school or ward it is bound to.

    Example: `curl localhost:8000/api/v1/auth/me -H 'Authorization: Bearer ...'`
    """
    principal = current_principal()
    return {
        "account_id": principal.account_id,
        "role": principal.role,
        "school_code": principal.school_code,
        "ward_code": principal.ward_code,
    }


@blp.route("/me/erasure", methods=["POST"])
@require(PARENT, limit="submit", audit="auth.erase_account")
@blp.response(202, AccountErasure)
@blp.alt_response(409, schema=ErrorBody, description="A child holds a seat or waitlist place.")
def erase_account() -> tuple[dict[str, Any], int]:
    """Erase this parent account and ask for every one of its applications to be erased.

    Each application is withdrawn if its round is open, and its child's data erased once
    the round has closed and the retention period has passed. The account loses its phone,
    password and tokens now; this token stops working. Refused (409, nothing done) while a
    child holds a seat or a waitlist place in a closed round: decline it first. Example:
    `curl -X POST localhost:8000/api/v1/auth/me/erasure -H 'Authorization: Bearer ...'`
    """
    principal = current_principal()
    backends = current_backends()
    with backends.rpc.cluster() as rpc:
        mine = rpc.registration.list_applications(principal.account_id)
    pending = [a for a in mine if not a.get("erased_at")]
    holding = holding_a_place([a["reference"] for a in pending])
    held = [a["reference"] for a in pending if a["reference"] in holding]
    if held:
        raise ApiError(
            409,
            "holds_a_place",
            "A child holds a seat or a waitlist place: decline it first, then ask again.",
            {"applications": held},
        )
    for application in pending:
        payload = {"reference": application["reference"], "round_id": application["round_id"]}
        command = make_message("request_erasure", payload, correlation_id=correlation_id())
        backends.send_command("registration", command)
    with current_app.extensions["db"].session() as session:
        accounts.erase(session, principal.account_id, utcnow())
    _auth().log_out(principal, None)
    return {"status": "erasure_requested", "applications": len(pending)}, 202
