"""The department's pages: rounds (create, open, close, allocate, publish, finalize), the
allocation preview with statistics and charts, the export and the verifier's verdict, and
the practice round."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from gateway.auth.decorators import public
from gateway.portal import charts, client
from gateway.portal.i18n import gettext as _
from gateway.portal.labels import LEVELS, ROUND_STATUSES, word
from gateway.portal.verdicts import export_of, verdict_of
from gateway.portal.views.common import expect, login_required, tell
from gateway.portal.views.parent import school_names
from gateway.portal.wards import wards_of

bp = Blueprint("department", __name__, url_prefix="/department")
ROUNDS = "/api/v1/rounds"
STEPS = ("open", "close", "allocate", "publish", "finalize")
PREVIEWED = ("allocated", "published", "finalized")


@bp.route("/rounds")
@public(limit="lookup")
@login_required
def rounds() -> str:
    """The rounds of a year, each level's first round and (once published) its second."""
    year = _year()
    found = []
    for level in LEVELS:
        for number in (1, 2):
            suffix = "" if number == 1 else f"-r{number}"
            answer = client.as_user("GET", f"{ROUNDS}/{year}-{level}{suffix}")
            if answer.status != 200:
                expect(answer, 404)
                break
            found.append(answer.body)
            if answer.body["status"] not in ("published", "finalized"):
                break
    return render_template("department/rounds.html", rounds=found, year=year, levels=LEVELS)


@bp.route("/rounds", methods=["POST"])
@public(limit="lookup")
@login_required
def create() -> Any:
    """Create a round in draft."""
    form = request.form
    body = {
        "level": form.get("level", ""),
        "year": _int(form.get("year")),
        "number": _int(form.get("number"), 1),
        "max_preferences": _int(form.get("max_preferences"), 3),
        "offer_days": _int(form.get("offer_days"), 7),
    }
    answer = client.as_user("POST", ROUNDS, body=body)
    if answer.ok:
        session["year"] = body["year"]
        flash(_("Round %(round)s created as a draft.", round=answer.body["round_id"]), "success")
        return redirect(url_for("department.round_page", round_id=answer.body["round_id"]))
    tell(answer)
    return redirect(url_for("department.rounds", year=body["year"]))


@bp.route(
    "/rounds/<round_id>/<any(open, close, allocate, publish, finalize):step>", methods=["POST"]
)
@public(limit="lookup")
@login_required
def step(round_id: str, step: str) -> Any:
    """Take the round one step on its lifecycle."""
    answer = client.as_user("POST", f"{ROUNDS}/{round_id}/{step}")
    if answer.ok:
        flash(_("Done: the round is now “%(status)s”.", status=_status(answer.body)), "success")
    else:
        flash(answer.error.get("message") or "", "error") if answer.status == 409 else tell(answer)
    return redirect(url_for("department.round_page", round_id=round_id))


@bp.route("/rounds/<round_id>")
@public(limit="lookup")
@login_required
def round_page(round_id: str) -> str:
    """One round: its state and next steps; once allocated, the statistics and charts."""
    round_ = expect(client.as_user("GET", f"{ROUNDS}/{round_id}")).body
    session["year"] = round_["year"]
    figures = None
    if round_["status"] in PREVIEWED and round_.get("job") is None:
        stats = expect(client.as_user("GET", f"{ROUNDS}/{round_id}/stats")).body
        figures = _figures(round_, stats)
    verdict = verdict_of(round_) if request.args.get("verify") and figures else None
    return render_template("department/round.html", round=round_, figures=figures, verdict=verdict)


@bp.route("/rounds/<round_id>/results.csv")
@public(limit="lookup")
@login_required
def results_csv(round_id: str) -> Response:
    """The results export, as the API gives it."""
    answer = expect(client.as_user("GET", f"{ROUNDS}/{round_id}/results.csv"))
    disposition = answer.headers.get("Content-Disposition", "attachment")
    return Response(answer.data, mimetype="text/csv", headers={"Content-Disposition": disposition})


@bp.route("/practice")
@public(limit="lookup")
@login_required
def practice() -> str:
    """The practice round: what it is for, and what the system still lacks for it."""
    return render_template("department/practice.html")


def _figures(round_: dict[str, Any], stats: dict[str, Any]) -> dict[str, Any]:
    statistics = stats.get("statistics") or {}
    province = int(current_app.config["PORTAL"]["PROVINCE_CODE"])
    export = export_of(round_)
    return {
        "statistics": statistics,
        "statuses": stats.get("statuses") or {},
        "stale": stats.get("preview_stale"),
        "shares": charts.shares(statistics),
        "fill": charts.fill_rates(statistics, school_names()),
        "per_hour": charts.per_hour(statistics),
        "by_ward": charts.unplaced_by_ward(export, dict(wards_of(province))) if export else None,
    }


def _year() -> int:
    chosen = _int(request.args.get("year"), 0)
    return chosen or int(session.get("year") or date.today().year)


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def _status(round_: dict[str, Any]) -> str:
    return word(ROUND_STATUSES, round_.get("status"))
