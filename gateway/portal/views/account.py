"""Signing up (phone + password, confirmed by a texted code), logging in and out."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from gateway.auth.decorators import public
from gateway.portal import client
from gateway.portal.i18n import current_language
from gateway.portal.i18n import gettext as _
from gateway.portal.views.common import explain, safe_next
from gateway.portal.views.forms import field_errors

bp = Blueprint("account", __name__)
HOME_OF = {
    "parent": "parent.applications",
    "staff": "school.intake",
    "helpdesk": "helpdesk.applications",
    "department": "department.rounds",
}


def home_of_role() -> str:
    """Where a signed-in account starts."""
    return url_for(HOME_OF.get(client.role() or "", "public_pages.home"))


@bp.route("/signup", methods=["GET", "POST"])
@public(limit="lookup")
def signup() -> Any:
    """A parent account: phone and password; a code is texted to confirm the phone."""
    errors: dict[str, str] = {}
    if request.method == "POST":
        phone = request.form.get("phone", "").strip()
        body = {
            "phone": phone,
            "password": request.form.get("password", ""),
            "language": current_language(),
        }
        answer = client.public("POST", "/api/v1/auth/signup", body=body)
        if answer.ok:
            session["pending_phone"] = phone
            return redirect(url_for("account.verify"))
        errors = field_errors(answer) if answer.status == 400 else {"": explain(answer)}
    return render_template("signup.html", errors=errors, form=request.form)


@bp.route("/signup/verify", methods=["GET", "POST"])
@public(limit="lookup")
def verify() -> Any:
    """Type the texted code; the account is confirmed and signed in."""
    phone = session.get("pending_phone", "")
    errors: dict[str, str] = {}
    if request.method == "POST":
        phone = request.form.get("phone", phone).strip()
        body = {"phone": phone, "code": request.form.get("code", "").strip()}
        answer = client.log_in(body, path="/api/v1/auth/signup/verify")
        if answer.ok:
            session.pop("pending_phone", None)
            flash(_("Your phone is confirmed. Welcome!"), "success")
            return redirect(home_of_role())
        errors = (
            field_errors(answer)
            if answer.status == 400 and answer.code == "invalid"
            else {"code": explain(answer)}
        )
    return render_template("verify.html", phone=phone, errors=errors)


@bp.route("/login", methods=["GET", "POST"])
@public(limit="lookup")
def login() -> Any:
    """Parents: phone and password (or a texted code); staff and department: username."""
    target = safe_next(request.values.get("next"), "")
    errors: dict[str, str] = {}
    if request.method == "POST":
        who = request.form.get("who", "").strip()
        key = "phone" if _looks_like_phone(who) else "username"
        body = {key: who}
        code = request.form.get("code", "").strip()
        if code:
            body["code"] = code
        else:
            body["password"] = request.form.get("password", "")
        answer = client.log_in(body)
        if answer.ok:
            return redirect(target or home_of_role())
        errors = {"": explain(answer)}
    code_sent = bool(session.get("code_phone"))
    return render_template(
        "login.html", errors=errors, next=target, code_sent=code_sent, form=request.form
    )


@bp.route("/login/code", methods=["POST"])
@public(limit="lookup")
def send_code() -> Any:
    """Text a login code to a parent's confirmed phone."""
    phone = request.form.get("who", "").strip()
    answer = client.public("POST", "/api/v1/auth/code", body={"phone": phone})
    if answer.ok:
        session["code_phone"] = phone
        flash(
            _("If this phone has an account, a code is on its way. It is valid for 5 minutes."),
            "success",
        )
    else:
        flash(
            explain(answer) if answer.status != 400 else _("Type your phone number first."), "error"
        )
    return redirect(url_for("account.login", who=phone))


@bp.route("/logout", methods=["POST"])
@public()
def logout() -> Any:
    """End the login at the API and here."""
    client.log_out()
    flash(_("You are signed out."), "success")
    return redirect(url_for("public_pages.home"))


def _looks_like_phone(text: str) -> bool:
    digits = text.replace(" ", "").replace(".", "").replace("-", "")
    return digits.lstrip("+").isdigit()
