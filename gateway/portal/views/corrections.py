"""Correction requests in the portal: a family asks from its rejected application's page and
follows the request there; the department works through its review queue."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from gateway.auth.decorators import public
from gateway.portal import client
from gateway.portal.i18n import gettext as _
from gateway.portal.views.common import expect, explain, login_required
from gateway.portal.views.forms import field_errors
from shared.corrections import CORRECTABLE_CODES, STATUSES

bp = Blueprint("corrections", __name__)
API = "/api/v1/corrections"


def requests_of(application: dict[str, Any]) -> dict[str, Any]:
    """The application's requests, and whether the family may ask now (the API decides in
    the end: the round must still be open)."""
    reference = application["reference"]
    answer = client.as_user("GET", f"/api/v1/applications/{reference}/corrections")
    found = answer.body if answer.ok else []
    codes = {str(r.get("code")) for r in application.get("rejection_reasons") or []}
    pending = any(r["status"] == "pending" for r in found)
    may_ask = application["status"] == "rejected" and bool(codes & CORRECTABLE_CODES)
    return {"requests": found, "may_ask": may_ask and not pending}


@bp.route("/parent/applications/<reference>/correction", methods=["POST"])
@public(limit="lookup")
@login_required
def ask(reference: str) -> Any:
    """Send a correction request: the family's words and one photo or PDF."""
    upload = request.files.get("evidence")
    form: dict[str, Any] = {"text": request.form.get("text", "").strip()}
    if upload is not None and upload.filename:
        form["evidence"] = (upload.stream, upload.filename, upload.mimetype)
    path = f"/api/v1/applications/{reference}/corrections"
    answer = client.as_user("POST", path, form=form)
    if answer.ok:
        flash(_("Your correction request is sent. The department will review it."), "success")
    elif answer.status == 400:
        for message in field_errors(answer).values():
            flash(message, "error")
    else:
        flash(explain(expect(answer, 409)), "error")
    return redirect(url_for("parent.application", reference=reference, _anchor="correction"))


@bp.route("/parent/applications/<reference>/corrections/<request_id>/evidence")
@public(limit="lookup")
@login_required
def own_evidence(reference: str, request_id: str) -> Response:
    """The evidence the family sent."""
    path = f"/api/v1/applications/{reference}/corrections/{request_id}/evidence"
    return _file(expect(client.as_user("GET", path)))


@bp.route("/department/corrections")
@public(limit="lookup")
@login_required
def queue() -> str:
    """The review queue (pending first; approved or refused ones on request)."""
    status = request.args.get("status", "pending")
    status = status if status in STATUSES else "pending"
    found = expect(client.as_user("GET", API, query={"status": status})).body
    return render_template(
        "department/corrections.html", requests=found, status=status, statuses=STATUSES
    )


@bp.route("/department/corrections/<request_id>", methods=["GET", "POST"])
@public(limit="lookup")
@login_required
def review(request_id: str) -> Any:
    """One request: the family's words and evidence, the child as typed, the register; the
    decision (approve with the corrected values, or refuse with a reason)."""
    errors: dict[str, str] = {}
    if request.method == "POST":
        answer = client.as_user("POST", f"{API}/{request_id}/decision", body=_decision())
        if answer.ok:
            decided = answer.body["status"]
            flash(_("Approved.") if decided == "approved" else _("Refused."), "success")
            return redirect(url_for("corrections.queue"))
        errors = field_errors(answer) if answer.status == 400 else {"": explain(answer)}
    found = expect(client.as_user("GET", f"{API}/{request_id}")).body
    return render_template(
        "department/correction.html", item=found, errors=errors, form=request.form
    )


@bp.route("/department/corrections/<request_id>/evidence")
@public(limit="lookup")
@login_required
def evidence(request_id: str) -> Response:
    """A request's evidence, for its reviewer."""
    return _file(expect(client.as_user("GET", f"{API}/{request_id}/evidence")))


def _decision() -> dict[str, Any]:
    """The API body from the review form; empty register fields are left out."""
    form = request.form
    decision = "approved" if form.get("decision") == "approved" else "refused"
    body: dict[str, Any] = {"decision": decision}
    if decision == "refused":
        body["reason"] = form.get("reason", "").strip()
        return body
    names = ("full_name", "date_of_birth", "gender", "ward_code", "household_id")
    given = {name: form.get(f"register.{name}", "").strip() for name in names}
    body["register"] = {name: value for name, value in given.items() if value}
    return body


def _file(answer: client.Answer) -> Response:
    """The API's file, with its type and its guards (never sniffed, never run as a page)."""
    keep = ("Content-Type", "Content-Disposition", "X-Content-Type-Options")
    headers = {name: answer.headers[name] for name in keep if name in answer.headers}
    headers["Content-Security-Policy"] = answer.headers.get("Content-Security-Policy", "sandbox")
    headers["Cache-Control"] = "private, no-store"
    return Response(answer.data, headers=headers)
