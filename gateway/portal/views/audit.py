"""The audit trail in the portal: the department's search and CSV export, and a family's
page of who opened or changed their child's record (by office, never by officer)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template, request

from gateway.auth.decorators import public
from gateway.portal import client
from gateway.portal.views.common import expect, explain, login_required

bp = Blueprint("audit", __name__)
FILTERS = ("reference", "actor_id", "action", "since", "until")
# The actions an officer picks from; the API takes any `area.verb`.
ACTIONS = (
    "application.submit",
    "application.withdraw",
    "application.erasure",
    "intake.read",
    "intake.confirm",
    "intake.reject",
    "offer.accept",
    "offer.decline",
    "round.open",
    "round.close",
    "round.allocate",
    "round.publish",
    "round.export_results",
    "correction.request",
    "correction.read",
    "correction.evidence",
    "correction.decide",
    "correction.approved",
    "correction.refused",
    "audit.search",
    "audit.export",
    "auth.log_in",
)


@bp.route("/department/audit")
@public(limit="lookup")
@login_required
def search() -> str:
    """Search the audit log (with no filter: the latest entries); newest first, by pages."""
    filters = _filters()
    after = request.args.get("after", "")
    query = {**filters, **({"after": after} if after else {})}
    page, error = None, None
    wrong: dict[str, str] = {}
    answer = expect(client.as_user("GET", "/api/v1/audit", query=query), 400)
    if answer.ok:
        page = answer.body
    else:
        error, wrong = explain(answer), answer.error.get("fields") or {}
    return render_template(
        "department/audit.html",
        filters=filters,
        actions=ACTIONS,
        page=page,
        error=error,
        wrong=wrong,
    )


@bp.route("/department/audit.csv")
@public(limit="lookup")
@login_required
def export() -> Response:
    """The search's every entry, as CSV."""
    answer = expect(client.as_user("GET", "/api/v1/audit.csv", query=_filters()))
    disposition = answer.headers.get("Content-Disposition", "attachment")
    return Response(answer.data, mimetype="text/csv", headers={"Content-Disposition": disposition})


@bp.route("/parent/applications/<reference>/access")
@public(limit="lookup")
@login_required
def access(reference: str) -> str:
    """Who opened or changed this application, and when."""
    answer = expect(client.as_user("GET", f"/api/v1/applications/{reference}/access"))
    return render_template("parent/access.html", reference=reference, entries=answer.body)


def _filters() -> dict[str, Any]:
    """The non-empty search fields; times typed as local `YYYY-MM-DDTHH:MM` get the city's
    zone (UTC+7) so the API reads them as meant."""
    found = {key: request.args.get(key, "").strip() for key in FILTERS}
    for key in ("since", "until"):
        value = found[key]
        if value and len(value) == 16:
            found[key] = f"{value}:00+07:00"
    return {key: value for key, value in found.items() if value}
