"""Pages for everyone: the levels and their registration windows, the catchment lookup, and
the language switch."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, redirect, render_template, request

from gateway.auth.decorators import public
from gateway.portal import chances, client, i18n, maps
from gateway.portal.labels import AGES, LEVELS
from gateway.portal.views.common import expect, safe_next
from gateway.portal.wards import folded, picker_wards

bp = Blueprint("public_pages", __name__)
OUTCOME_ROWS = 200  # schools on one page of outcomes; a search narrows a city's list
OUTCOME_K = 10  # counts below this are null in the open data (allocation's K_ANONYMITY)


@bp.route("/")
@public(limit="lookup", shared=True)
def home() -> str:
    """The levels, which rounds are open now, and how priority works."""
    answer = client.public("GET", "/api/v1/rounds")
    # A practice round is the department's rehearsal: never announced to the public.
    rounds = [r for r in answer.body if not r.get("practice")] if answer.ok else []
    year = max([r["year"] for r in rounds], default=date.today().year)
    levels = []
    for level in LEVELS:
        open_rounds = [r for r in rounds if r["level"] == level]
        levels.append(
            {"code": level, "birth_year": year - AGES[level], "rounds": open_rounds, "year": year}
        )
    return render_template("home.html", levels=levels, lookup_failed=not answer.ok)


@bp.route("/lookup")
@public(limit="lookup", shared=True)
def lookup() -> str:
    """Pick a ward from the city's list; see the schools of a level that serve it."""
    ward, level = _ward_and_level()
    result: dict[str, Any] | None = None
    missing = False
    if ward:
        answer = client.public("GET", "/api/v1/catchment", query={"ward": ward, "level": level})
        result = answer.body if answer.ok else None
        missing = answer.status in (400, 404)
    return _question_page("lookup.html", ward, level, result=result, missing=missing)


@bp.route("/finder")
@public(limit="lookup")
def finder() -> str:
    """The school finder: from the ward, the level's schools nearest first, on a map, with
    catchment status, distance, seats and the live demand of the open round. With
    `?application=` (a parent's own, verified): from the register's point of the child's
    registered address when it has one, else from the ward's."""
    ward, level = _ward_and_level()
    reference = request.args.get("application", "")
    found: dict[str, Any] | None = None
    missing = False
    if reference:  # signed out: the login page, then back here
        answer = client.as_user("GET", f"/api/v1/applications/{reference}/finder")
        found = answer.body if answer.ok else None
        missing = answer.status in (400, 404)
        if found:
            ward, level = found["ward"]["code"], found["level"]
    elif ward:
        answer = client.public("GET", "/api/v1/finder", query={"ward": ward, "level": level})
        found = answer.body if answer.ok else None
        missing = answer.status in (400, 404)
    page_map = maps.school_map(found) if found else None
    return _question_page("finder.html", ward, level, found=found, map=page_map, missing=missing)


def _ward_and_level() -> tuple[str, str]:
    """The ward and level asked about (a level not known: grade 1)."""
    ward, level = request.args.get("ward", ""), request.args.get("level", "grade_1")
    return ward, level if level in LEVELS else "grade_1"


def _question_page(template: str, ward: str, level: str, **answer: Any) -> str:
    """A page answering "which schools, for this ward and level": the question's form, the
    answer, and (once there is an answer) the live demand of the level's open round."""
    live = None
    if answer.get("result") or answer.get("found"):
        open_round = chances.open_round_of(level)
        live = chances.demand(open_round["round_id"] if open_round else None)
    return render_template(
        template,
        wards=picker_wards(),
        levels=LEVELS,
        ward=ward,
        level=level,
        demand=live,
        **answer,
    )


@bp.route("/outcomes")
@public(limit="lookup", shared=True)
def outcomes() -> str:
    """Past rounds' outcomes per school, public once published (every round kept): seats,
    applications, offers by tier group and the cutoff, with the open data's CSV and JSON."""
    listed = client.public("GET", "/api/v1/outcomes")
    published = listed.body if listed.ok else []
    wanted = request.args.get("round", "")
    chosen = next((r for r in published if r["round_id"] == wanted), None)
    chosen = chosen or (published[0] if published and not wanted else None)
    query = request.args.get("q", "").strip()[:80]
    rows: list[dict[str, Any]] = []
    if chosen:
        answer = client.public("GET", f"/api/v1/outcomes/{chosen['round_id']}")
        rows = answer.body if answer.ok else []
    if query:
        needle = folded(query)
        rows = [r for r in rows if needle in folded(f"{r['school_name']} {r['school_code']}")]
    return render_template(
        "outcomes.html",
        published=published,
        chosen=chosen,
        rows=rows[:OUTCOME_ROWS],
        more=max(0, len(rows) - OUTCOME_ROWS),
        q=query,
        k=OUTCOME_K,
        failed=not listed.ok,
        missing=bool(wanted) and chosen is None,
    )


@bp.route("/rounds/<round_id>/draw")
@public(limit="lookup")
def draw(round_id: str) -> str:
    """How a round's draw is kept honest: the seed's commitment from close, each allocation
    run's inputs digest, and the seed itself once published, with how to check them."""
    answer = expect(client.public("GET", f"/api/v1/rounds/{round_id}/commitment"))
    return render_template("draw.html", round=answer.body)


@bp.route("/lang/<code>")
@public()
def language(code: str) -> Any:
    """Switch the language (kept in a cookie for a year) and go back to the page."""
    target = safe_next(request.args.get("next"), "/")
    response = redirect(target)
    if code in i18n.LANGUAGES:
        response.set_cookie(i18n.COOKIE, code, max_age=365 * 86400, samesite="Lax")
    return response
