"""School staff's pages: the intake (allocated children and the waitlist) with filters,
confirm or reject with a reason, and the list as CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for

from gateway.auth.decorators import public
from gateway.portal import client
from gateway.portal.i18n import gettext as _
from gateway.portal.views.common import expect, login_required, tell
from gateway.portal.views.registering import school_names
from shared.contracts.rounds import is_practice_round

bp = Blueprint("school", __name__, url_prefix="/school")
STATUS_FILTERS = (
    "all",
    "offered",
    "accepted",
    "enrolled",
    "declined",
    "expired",
    "school_rejected",
)


@bp.route("/intake")
@public(limit="lookup")
@login_required
def intake() -> str:
    """The school's allocated children (filter by status or reference) and its waitlist."""
    found = _intake() or {"allocated": [], "waitlist": []}
    wanted = request.args.get("status", "all")
    search = request.args.get("q", "").strip().upper()
    children = [
        child
        for child in found["allocated"]
        if (wanted == "all" or child["status"] == wanted) and search in child["reference"]
    ]
    waiting = [w for w in found["waitlist"] if search in w["reference"]]
    return render_template(
        "school/intake.html",
        intake=found if "round_id" in found else None,
        children=children,
        waiting=waiting,
        status=wanted,
        q=search,
        filters=STATUS_FILTERS,
        practice=is_practice_round(str(found.get("round_id", ""))),
        school_name=school_names().get(_school(), _school()),
    )


@bp.route("/intake/<reference>/<any(confirm, reject):decision>", methods=["POST"])
@public(limit="lookup")
@login_required
def review(reference: str, decision: str) -> Any:
    """Confirm an accepted child's enrollment, or reject it with a reason."""
    code = _school()
    path = f"/api/v1/schools/{code}/intake/{reference}/{decision}"
    body = {"reason": request.form.get("reason", "").strip()} if decision == "reject" else None
    answer = client.as_user("POST", path, body=body)
    if answer.ok:
        done = {
            "confirm": _("Enrollment of %(reference)s confirmed.", reference=reference),
            "reject": _(
                "%(reference)s rejected; the seat goes to the waitlist.", reference=reference
            ),
        }
        flash(done[decision], "success")
    elif answer.status == 400:
        flash(_("Give a reason of 2 to 200 characters."), "error")
    else:
        tell(answer)
    filters: dict[str, Any] = request.args.to_dict()
    return redirect(url_for("school.intake", **filters))


@bp.route("/intake.csv")
@public(limit="lookup")
@login_required
def intake_csv() -> Response:
    """The intake as a spreadsheet: allocated children, then the waitlist in order."""
    found = _intake()
    if found is None:
        abort(404)
    out = io.StringIO()
    writer = csv.writer(out)
    header = ["list", "position", "reference", "status", "deadline", "placed_by", "reason"]
    writer.writerow([*header, "pool", "late"])
    for child in found["allocated"]:
        writer.writerow(
            [
                "allocated",
                "",
                child["reference"],
                child["status"],
                child["deadline"] or "",
                child["placed_by"],
                child.get("reason") or "",
                child.get("pool") or "",
                "1" if child.get("late") else "",
            ]
        )
    for waiting in found["waitlist"]:
        writer.writerow(["waitlist", waiting["position"], waiting["reference"], *[""] * 6])
    name = f"{found['school_code']}-{found['round_id']}-intake.csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _school() -> str:
    code = client.school()
    if code is None:
        abort(403)
    return code


def _intake() -> dict[str, Any] | None:
    """The intake from the API; None while no round of the school's level is published."""
    query = {"round_id": request.args["round_id"]} if request.args.get("round_id") else None
    answer = expect(client.as_user("GET", f"/api/v1/schools/{_school()}/intake", query=query), 404)
    return dict(answer.body) if answer.ok else None
