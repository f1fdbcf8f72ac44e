"""The department's dashboard of a round at a city's scale (2,620 schools, 250,000 children),
read with SQL from what the preview stored: each school's seats and demand (`round_schools`,
one row per school), searched, filtered by ward, sorted and paged; how demand is spread
over the schools; the schools most and least in demand; and the same figures per ward.

Nothing here reads the round's results row by row: a page costs a few indexed queries over
the round's school rows, and the per-ward counts of children come from the statistics the
preview stored.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, Select, case, cast, func, select
from sqlalchemy.orm import Session

from services.allocation import rounds
from services.allocation.exceptions import InvalidTransition
from services.allocation.models import Round, RoundSchool, School, Ward
from shared.text import folded

PREVIEWED = ("allocated", "published", "finalized")
# Children who ranked a school first, per seat: the upper bounds of the histogram's buckets
# (the last bucket is open). A school without seats this round has a bucket of its own.
DEMAND_BOUNDS = (0.5, 1.0, 1.5, 2.0, 3.0)
NO_SEATS = -1
EXTREMES = 10  # schools listed as the most and the least in demand

_demand = case(
    (RoundSchool.capacity > 0, cast(RoundSchool.first_choices, Float) / RoundSchool.capacity),
    else_=None,
)
_fill = case(
    (RoundSchool.capacity > 0, cast(RoundSchool.occupied, Float) / RoundSchool.capacity),
    else_=None,
)
SORTS = {
    "-demand": (_demand.desc().nulls_last(), School.code),
    "demand": (_demand.asc().nulls_last(), School.code),
    "-fill": (_fill.desc().nulls_last(), School.code),
    "fill": (_fill.asc().nulls_last(), School.code),
    "name": (School.search_key, School.code),
}


def school_page(
    session: Session,
    round_id: str,
    query: str = "",
    ward: str | None = None,
    sort: str = "-demand",
    offset: int = 0,
    limit: int = 25,
) -> dict[str, Any]:
    """One page of the round's schools with their figures: those whose name or code holds
    `query` (diacritics ignored) and, with `ward`, those located in that ward."""
    _previewed(session, round_id)
    chosen = _schools(round_id)
    if ward:
        chosen = chosen.where(School.ward_code == ward)
    words = folded(query).split()
    for word in words:
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        chosen = chosen.where(School.search_key.like(f"%{escaped}%", escape="\\"))
    total = session.scalar(select(func.count()).select_from(chosen.subquery()))
    page = chosen.order_by(*SORTS.get(sort, SORTS["-demand"])).offset(offset).limit(limit)
    return {
        "round_id": round_id,
        "total": int(total or 0),
        "offset": offset,
        "limit": limit,
        "schools": [_school(row) for row in session.execute(page)],
    }


def overview(session: Session, round_id: str) -> dict[str, Any]:
    """The whole round at a glance: how demand is spread over the schools, the schools most
    and least in demand, and each ward's schools, seats, demand and children."""
    round_ = _previewed(session, round_id)
    ranked = _schools(round_id).where(RoundSchool.capacity > 0)
    most = ranked.order_by(*SORTS["-demand"]).limit(EXTREMES)
    least = ranked.order_by(*SORTS["demand"]).limit(EXTREMES)
    return {
        "round_id": round_id,
        "demand_bounds": list(DEMAND_BOUNDS),
        "demand_histogram": _histogram(session, round_id),
        "most_demand": [_school(row) for row in session.execute(most)],
        "least_demand": [_school(row) for row in session.execute(least)],
        "wards": _wards(session, round_),
    }


def _previewed(session: Session, round_id: str) -> Round:
    round_ = rounds.get_round(session, round_id)
    if round_.status not in PREVIEWED:
        raise InvalidTransition(f"{round_id} is {round_.status}; it has no results yet")
    return round_


def _schools(round_id: str) -> Select[Any]:
    return (
        select(
            School.code,
            School.name,
            School.ward_code,
            Ward.name.label("ward_name"),
            RoundSchool.capacity,
            RoundSchool.occupied,
            RoundSchool.first_choices,
            RoundSchool.ranked,
        )
        .select_from(RoundSchool)
        .join(School, School.code == RoundSchool.school_code)
        .outerjoin(Ward, Ward.code == School.ward_code)
        .where(RoundSchool.round_id == round_id)
    )


def _school(row: Any) -> dict[str, Any]:
    seats = int(row.capacity)
    return {
        "code": row.code,
        "name": row.name,
        "ward_code": row.ward_code,
        "ward_name": row.ward_name,
        "capacity": seats,
        "occupied": int(row.occupied),
        "first_choices": int(row.first_choices),
        "ranked": int(row.ranked),
        "demand": row.first_choices / seats if seats else None,
        "fill": row.occupied / seats if seats else None,
    }


def _histogram(session: Session, round_id: str) -> list[dict[str, int]]:
    """Schools per bucket of first choices per seat, counted by the database."""
    bucket = case(
        (RoundSchool.capacity <= 0, NO_SEATS),
        *(
            (RoundSchool.first_choices < RoundSchool.capacity * bound, index)
            for index, bound in enumerate(DEMAND_BOUNDS)
        ),
        else_=len(DEMAND_BOUNDS),
    )
    query = (
        select(bucket, func.count())
        .where(RoundSchool.round_id == round_id)
        .group_by(bucket)
        .order_by(bucket)
    )
    counts = {int(b): int(n) for b, n in session.execute(query)}
    buckets = [*range(len(DEMAND_BOUNDS) + 1), *([NO_SEATS] if NO_SEATS in counts else [])]
    return [{"bucket": b, "schools": counts.get(b, 0)} for b in buckets]


def _wards(session: Session, round_: Round) -> list[dict[str, Any]]:
    """Per ward where schools stand: schools, seats, seats filled, first choices (one GROUP
    BY over the round's school rows); and per ward where children live: applicants and
    unplaced (the preview's stored statistics)."""
    query = (
        select(
            School.ward_code,
            Ward.name,
            func.count(),
            func.sum(RoundSchool.capacity),
            func.sum(RoundSchool.occupied),
            func.sum(RoundSchool.first_choices),
        )
        .select_from(RoundSchool)
        .join(School, School.code == RoundSchool.school_code)
        .outerjoin(Ward, Ward.code == School.ward_code)
        .where(RoundSchool.round_id == round_.round_id)
        .group_by(School.ward_code, Ward.name)
    )
    statistics = round_.statistics or {}
    applicants = statistics.get("applicants_by_ward") or {}
    unplaced = statistics.get("unplaced_by_ward") or {}
    found = []
    for code, name, schools, seats, occupied, first in session.execute(query):
        found.append(
            {
                "code": code,
                "name": name or code,
                "schools": int(schools),
                "capacity": int(seats or 0),
                "occupied": int(occupied or 0),
                "first_choices": int(first or 0),
                "applicants": int(applicants.get(code, 0)),
                "unplaced": int(unplaced.get(code, 0)),
            }
        )
    homes = (set(applicants) | set(unplaced)) - {ward["code"] for ward in found}
    named = select(Ward.code, Ward.name).where(Ward.code.in_(homes))
    names: dict[str, str] = {row.code: row.name for row in session.execute(named)}
    for code in homes:  # children live there, but no school of the round stands there
        found.append(
            {
                "code": code,
                "name": names.get(code, code),
                **dict.fromkeys(("schools", "capacity", "occupied", "first_choices"), 0),
                "applicants": int(applicants.get(code, 0)),
                "unplaced": int(unplaced.get(code, 0)),
            }
        )
    return sorted(found, key=lambda ward: folded(ward["name"]))
