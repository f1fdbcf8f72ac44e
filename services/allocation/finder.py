"""The school finder: the schools of a level nearest a ward first, with catchment status.

A ward has no map point of its own here; its point is the centre of the schools located in
it (any level), else of the schools serving it. A family's registered residence is more
precise: registration passes that point to allocation with the verified application (the
distance tie-break uses it), but the public finder knows only the ward.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.allocation.engine.priority import haversine_m
from services.allocation.exceptions import WardNotFound
from services.allocation.models import School, Ward

Point = tuple[float, float]


def centre(points: Sequence[Point]) -> Point | None:
    """The mean point (the city is small enough for a flat mean), None without points."""
    if not points:
        return None
    return sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points)


def ranked(
    point: Point | None, ward: str, schools: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each school with `in_catchment` and `distance_m`, nearest first (unknown distances
    last; then the ward's own schools first, then by code)."""
    rows = []
    for school in schools:
        known = point is not None and school["lat"] is not None and school["lon"] is not None
        distance = haversine_m(*point, school["lat"], school["lon"]) if known and point else None
        rows.append({**school, "in_catchment": ward in school["catchment"], "distance_m": distance})
    rows.sort(
        key=lambda r: (
            r["distance_m"] is None,
            r["distance_m"] or 0,
            not r["in_catchment"],
            r["code"],
        )
    )
    return rows


def find(session: Session, ward_code: str, level: str) -> dict[str, Any]:
    """The ward, its point, and the level's schools nearest first."""
    ward = session.get(Ward, ward_code)
    if ward is None:
        raise WardNotFound(ward_code)
    query = select(
        School.code,
        School.name,
        School.level,
        School.capacity,
        School.ward_code,
        School.catchment,
        School.lat,
        School.lon,
    )
    located: list[Point] = []
    serving: list[Point] = []
    of_level = []
    for code, name, lvl, capacity, home, catchment, lat, lon in session.execute(query):
        if lat is not None and lon is not None:
            if home == ward_code:
                located.append((lat, lon))
            if ward_code in catchment:
                serving.append((lat, lon))
        if lvl == level:
            of_level.append(
                {
                    "code": code,
                    "name": name,
                    "capacity": capacity,
                    "catchment": list(catchment),
                    "lat": lat,
                    "lon": lon,
                }
            )
    point = centre(located) or centre(serving)
    return {
        "ward": {"code": ward.code, "name": ward.name},
        "level": level,
        "point": {"lat": point[0], "lon": point[1]} if point else None,
        "schools": [
            {key: value for key, value in row.items() if key != "catchment"}
            for row in ranked(point, ward_code, of_level)
        ],
    }
