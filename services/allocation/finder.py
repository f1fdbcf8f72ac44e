"""The school finder: the schools of a level nearest a ward first, with catchment status.

A ward has no map point of its own here; its point is the centre of the schools located in
it (any level), else of the schools serving it. A family's registered residence is more
precise: registration passes the register's map point of the address (a point, no address
text) to allocation with the verified application. The finder of an application measures
from that point when the register has one, else from the ward's, and says which it used.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.allocation.engine.priority import haversine_m
from services.allocation.exceptions import ApplicationNotFound, WardNotFound
from services.allocation.models import Round, School, VerifiedApplication, Ward

Point = tuple[float, float]
HOME_DECIMALS = 3  # an address's point in an answer: about 100 m


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


def find(
    session: Session, ward_code: str, level: str, address: Point | None = None
) -> dict[str, Any]:
    """The ward, the point measured from, and the level's schools nearest first: from
    `address` (the registered address's point) when given, else from the ward's point."""
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
    point = address or centre(located) or centre(serving)
    shown = point
    if address is not None:  # the family's own answer; still no finer than ~100 m
        shown = (round(address[0], HOME_DECIMALS), round(address[1], HOME_DECIMALS))
    return {
        "ward": {"code": ward.code, "name": ward.name},
        "level": level,
        "point": {"lat": shown[0], "lon": shown[1]} if shown else None,
        "point_source": "address" if address is not None else "ward",
        "schools": [
            {key: value for key, value in row.items() if key != "catchment"}
            for row in ranked(point, ward_code, of_level)
        ],
    }


def find_for_application(session: Session, reference: str) -> dict[str, Any]:
    """The finder of a verified application: its round's level, its ward, and the register's
    point of its address when there is one (ApplicationNotFound before verification)."""
    application = session.get(VerifiedApplication, reference)
    if application is None or application.state != "verified" or not application.ward_code:
        raise ApplicationNotFound(reference)
    round_ = session.get(Round, application.round_id)
    if round_ is None:
        raise ApplicationNotFound(reference)
    lat, lon = application.lat, application.lon
    address = (lat, lon) if lat is not None and lon is not None else None
    return find(session, application.ward_code, round_.level, address)
