"""The department's pages: rounds (create, open, close, allocate, publish, finalize), the
allocation preview with statistics and charts, the export and the verifier's verdict, and
the practice round."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import (
    Blueprint,
    Response,
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
from gateway.portal.verdicts import verdict_of
from gateway.portal.views import dashboard
from gateway.portal.views.common import expect, login_required, tell
from gateway.portal.views.registering import school_names
from gateway.portal.wards import city_wards
from shared.contracts.rounds import round_id_for

bp = Blueprint("department", __name__, url_prefix="/department")
ROUNDS = "/api/v1/rounds"
STEPS = ("open", "close", "allocate", "publish", "finalize")
PREVIEWED = ("allocated", "published", "finalized")


@bp.route("/rounds")
@public(limit="lookup")
@login_required
def rounds() -> str:
    """The real rounds of a year, each level's first round and (once published) its second."""
    year = _year()
    found = _rounds_of(year)
    return render_template("department/rounds.html", rounds=found, year=year, levels=LEVELS)


# The allocation policy's switches a department sets when it creates a round (README:
# "Siblings, reserved seats and late applications").
POLICY_OPTIONS = ("sibling_priority", "shared_sibling_lottery", "twins_together")


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
        "practice": form.get("practice") == "1",
        **{option: form.get(option) == "1" for option in POLICY_OPTIONS},
    }
    answer = client.as_user("POST", ROUNDS, body=body)
    if answer.ok:
        session["year"] = body["year"]
        flash(_("Round %(round)s created as a draft.", round=answer.body["round_id"]), "success")
        return redirect(url_for("department.round_page", round_id=answer.body["round_id"]))
    tell(answer)
    back = "department.practice" if body["practice"] else "department.rounds"
    return redirect(url_for(back, year=body["year"]))


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
        figures = _figures(stats)
        figures["overview"] = dashboard.overview_of(round_id)  # demand, search, wards
    verdict = verdict_of(round_) if request.args.get("verify") and figures else None
    return render_template(
        "department/round.html",
        round=round_,
        figures=figures,
        verdict=verdict,
        practice=round_.get("practice"),
    )


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
    """Practice rounds: create one, run it like a real one, wipe it."""
    year = _year()
    found = _rounds_of(year, practice=True)
    return render_template("department/practice.html", rounds=found, year=year, levels=LEVELS)


@bp.route("/rounds/<round_id>/discard", methods=["POST"])
@public(limit="lookup")
@login_required
def discard(round_id: str) -> Any:
    """Wipe a practice round from every service, once the department has said it is sure."""
    if request.form.get("sure") != "1":
        flash(_("Tick the box to confirm the wipe."), "error")
        return redirect(url_for("department.round_page", round_id=round_id))
    answer = client.as_user("POST", f"{ROUNDS}/{round_id}/discard")
    if answer.ok:
        flash(_("Practice round %(round)s wiped.", round=round_id), "success")
        return redirect(url_for("department.practice"))
    tell(answer)
    return redirect(url_for("department.round_page", round_id=round_id))


def _rounds_of(year: int, practice: bool = False) -> list[dict[str, Any]]:
    """Each level's first round of the year and (once it is published) its next ones."""
    found = []
    for level in LEVELS:
        for number in (1, 2, 3):
            round_id = round_id_for(year, level, number, practice)
            answer = client.as_user("GET", f"{ROUNDS}/{round_id}")
            if answer.status != 200:
                expect(answer, 404)
                break
            found.append(answer.body)
            if answer.body["status"] not in ("published", "finalized"):
                break
    return found


def _figures(stats: dict[str, Any]) -> dict[str, Any]:
    statistics = stats.get("statistics") or {}
    few = len(statistics.get("fill_rate") or {}) <= charts.MAX_BARS  # bars, with their names
    names = school_names() if few else {}
    return {
        "statistics": statistics,
        "statuses": stats.get("statuses") or {},
        "stale": stats.get("preview_stale"),
        "shares": charts.shares(statistics),
        "fill": charts.fill_rates(statistics, names),
        "per_hour": charts.per_hour(stats.get("applications_per_hour") or []),
        "by_ward": charts.unplaced_by_ward(statistics, dict(city_wards())),
    }


def _year() -> int:
    chosen = _int(request.args.get("year"), 0)
    return chosen or int(session.get("year") or _open_year() or date.today().year)


def _open_year() -> int | None:
    """The earliest year with a real round open for applications: where the department lands."""
    answer = client.as_user("GET", ROUNDS)
    years = [r["year"] for r in answer.body if not r.get("practice")] if answer.ok else []
    return min(years, default=None)


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def _status(round_: dict[str, Any]) -> str:
    return word(ROUND_STATUSES, round_.get("status"))
