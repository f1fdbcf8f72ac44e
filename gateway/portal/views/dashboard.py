"""The department's dashboard of an allocated round at a city's scale (2,620 schools): on the
round's page, how demand is spread and the schools most and least in demand; a page of all
the schools, searched, filtered by ward, sorted and paged; and the wards, each a way into
its schools. Every figure comes from the API (counted by allocation's database)."""

from __future__ import annotations

import itertools
import math
from typing import Any

from babel.numbers import format_decimal
from flask import Blueprint, render_template, request

from gateway.auth.decorators import public
from gateway.portal import client
from gateway.portal.i18n import current_language
from gateway.portal.i18n import gettext as _
from gateway.portal.views.common import expect, login_required
from gateway.portal.wards import city_wards

bp = Blueprint("dashboard", __name__, url_prefix="/department/rounds")
ROUNDS = "/api/v1/rounds"
SORTS = ("-demand", "demand", "-fill", "fill", "name")
WARD_SORTS = ("name", "-unplaced", "-demand")
PER_PAGE = 25


@bp.app_template_filter("decimal")
def decimal(value: float | None, digits: int = 2) -> str:
    """A number with `digits` decimals, written as the request's language writes it."""
    if value is None:
        return "–"
    return format_decimal(value, format=f"0.{'0' * digits}", locale=current_language())


def overview_of(round_id: str) -> dict[str, Any]:
    """The round at a glance for its page: demand's spread as bars, the extremes, the wards."""
    overview = expect(client.as_user("GET", f"{ROUNDS}/{round_id}/overview")).body
    bounds = overview["demand_bounds"]
    labels = [f"< {decimal(bounds[0], 1)}"]
    labels += [f"{decimal(lo, 1)}–{decimal(hi, 1)}" for lo, hi in itertools.pairwise(bounds)]
    labels.append(f"≥ {decimal(bounds[-1], 1)}")
    spread = overview["demand_histogram"]
    top = max((bucket["schools"] for bucket in spread), default=0) or 1
    overview["demand_bars"] = [
        {
            "label": labels[b["bucket"]] if b["bucket"] >= 0 else _("no seats"),
            "value": b["schools"],
            "width": b["schools"] / top,
        }
        for b in spread
    ]
    overview["schools"] = sum(bucket["schools"] for bucket in spread)
    return overview


@bp.route("/<round_id>/schools")
@public(limit="lookup")
@login_required
def schools(round_id: str) -> str:
    """The round's schools with their seats and demand: search, a ward, a sort, a page."""
    round_ = expect(client.as_user("GET", f"{ROUNDS}/{round_id}")).body
    query = request.args.get("q", "").strip()[:100]
    ward = request.args.get("ward", "").strip()
    ward = ward if ward.isdigit() and len(ward) <= 10 else ""
    sort = request.args.get("sort", "-demand")
    sort = sort if sort in SORTS else "-demand"
    page = max(1, _int(request.args.get("page"), 1))
    asked: dict[str, Any] = {"q": query, "sort": sort, "page": page, "per_page": PER_PAGE}
    if ward:
        asked["ward"] = ward
    found = expect(client.as_user("GET", f"{ROUNDS}/{round_id}/schools", query=asked)).body
    pages = max(1, math.ceil(found["total"] / PER_PAGE))
    the_ward = None
    if ward:
        wards = expect(client.as_user("GET", f"{ROUNDS}/{round_id}/overview")).body["wards"]
        the_ward = next((w for w in wards if w["code"] == ward), None)
    return render_template(
        "department/schools.html",
        round=round_,
        found=found,
        query=query,
        ward=ward,
        the_ward=the_ward,
        sort=sort,
        sorts=SORTS,
        page=min(page, pages),
        pages=pages,
        wards=city_wards(),
    )


@bp.route("/<round_id>/wards")
@public(limit="lookup")
@login_required
def wards(round_id: str) -> str:
    """Every ward: the schools standing in it and the children living in it, each a link to
    its schools."""
    round_ = expect(client.as_user("GET", f"{ROUNDS}/{round_id}")).body
    found = expect(client.as_user("GET", f"{ROUNDS}/{round_id}/overview")).body["wards"]
    sort = request.args.get("sort", "name")
    sort = sort if sort in WARD_SORTS else "name"
    if sort == "-unplaced":
        found.sort(key=lambda w: (-w["unplaced"], -w["applicants"]))
    elif sort == "-demand":
        found.sort(key=lambda w: -(w["first_choices"] / w["capacity"]) if w["capacity"] else 0)
    return render_template(
        "department/wards.html", round=round_, wards=found, sort=sort, sorts=WARD_SORTS
    )


def _int(value: Any, default: int) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default
