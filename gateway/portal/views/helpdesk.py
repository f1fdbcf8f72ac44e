"""Help desk pages: register a family's application after checking their papers, the list of
applications registered at this help point, and one of them."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from gateway.auth.decorators import public
from gateway.portal import client
from gateway.portal.i18n import gettext as _
from gateway.portal.i18n import lazy
from gateway.portal.views.common import expect, explain, login_required
from gateway.portal.views.forms import field_errors
from gateway.portal.views.registering import application_body, register_page, school_names
from gateway.portal.wards import city_wards

bp = Blueprint("helpdesk", __name__, url_prefix="/helpdesk")
API = "/api/v1/helpdesk/applications"
DOCUMENTS = {
    "citizen_id_card": lazy("Citizen ID card (CCCD)"),
    "passport": lazy("Passport"),
    "birth_certificate": lazy("Birth certificate"),
    "residence_paper": lazy("Residence confirmation"),
}


def help_point_words(point: str | None) -> str:
    """`ward:00004` → "the help point of ward Phường Ba Đình", `school:TH-0001` → "... of
    school TH-0001", in the page's language."""
    kind, _sep, code = (point or "").partition(":")
    if kind == "school":
        return _("the help point of school %(code)s", code=code)
    if kind == "ward":
        return _("the help point of %(ward)s", ward=dict(city_wards()).get(code) or code)
    return ""


@bp.route("/applications")
@public(limit="lookup")
@login_required
def applications() -> str:
    """The applications this officer registered at their help point, newest first."""
    registered = expect(client.as_user("GET", API)).body
    return render_template("helpdesk/applications.html", applications=registered)


@bp.route("/applications/<reference>")
@public(limit="lookup")
@login_required
def application(reference: str) -> str:
    """Where one of them stands."""
    found = expect(client.as_user("GET", f"{API}/{reference}")).body
    return render_template(
        "helpdesk/application.html", application=found, documents=DOCUMENTS, names=school_names()
    )


@bp.route("/register", methods=["GET", "POST"])
@public(limit="lookup")
@login_required
def register() -> Any:
    """The family's application, as a parent fills it in, and which paper was checked."""

    def send(round_: dict[str, Any]) -> Any:
        identity = {
            "document_kind": request.form.get("identity.document_kind", ""),
            "last_digits": request.form.get("identity.last_digits", "").strip().upper(),
        }
        return client.as_user("POST", API, body={**application_body(round_), "identity": identity})

    def received(reference: str) -> Any:
        flash(
            _(
                "Received: reference %(reference)s. The guardian gets a text message "
                "telling them how to follow it.",
                reference=reference,
            ),
            "success",
        )
        return redirect(url_for("helpdesk.applications"))

    return register_page(send, received, demand=False, desk=True, documents=DOCUMENTS, contact={})


desks = Blueprint("helpdesks", __name__, url_prefix="/department")


@desks.route("/helpdesks", methods=["GET", "POST"])
@public(limit="lookup")
@login_required
def accounts() -> Any:
    """The department's list of help desks, and a form to open one at a ward or a school."""
    errors: dict[str, str] = {}
    form = request.form
    if request.method == "POST":
        where = form.get("where", "ward")
        body = {
            "username": form.get("username", "").strip().lower(),
            "password": form.get("password", ""),
            f"{where}_code": form.get("help_point_code", "").strip().upper(),
        }
        answer = client.as_user("POST", "/api/v1/helpdesks", body=body)
        if answer.ok:
            flash(_("Help desk %(name)s opened.", name=answer.body["username"]), "success")
            return redirect(url_for("helpdesks.accounts"))
        errors = field_errors(answer) if answer.status == 400 else {"": explain(answer)}
        for key in ("ward_code", "school_code"):
            if key in errors:
                errors["help_point_code"] = errors.pop(key)
    listed = expect(client.as_user("GET", "/api/v1/helpdesks")).body
    return render_template("department/helpdesks.html", desks=listed, errors=errors, form=form)
