"""The school finder's map, drawn on the server as inline SVG (templates/finder.html): the
ward's point and the nearest schools, numbered as in the list. No tiles, nothing loaded
from elsewhere."""

from __future__ import annotations

import math
from typing import Any

WIDTH, HEIGHT, PAD = 600, 400, 30


NEAR_M, SPREAD = 1500, 3  # the map shows schools within max(NEAR_M, SPREAD × the 3rd nearest)


def school_map(found: dict[str, Any], limit: int = 12) -> dict[str, Any] | None:
    """Positions in a WIDTH × HEIGHT box of the ward's point and the first `limit` schools
    with a known point, leaving out far ones that would shrink the near ones to a dot
    (longitudes shrunk by cos(latitude), so distances look right)."""
    home = found.get("point")
    schools = [
        (n, s)
        for n, s in enumerate(found["schools"][:limit], start=1)
        if s.get("lat") is not None and s.get("lon") is not None and s.get("distance_m") is not None
    ]
    if len(schools) > 3:
        reach = max(NEAR_M, SPREAD * schools[2][1]["distance_m"])
        schools = [(n, s) for n, s in schools if s["distance_m"] <= reach]
    if home is None or not schools:
        return None
    points = [(home["lat"], home["lon"])] + [(s["lat"], s["lon"]) for _, s in schools]
    shrink = math.cos(math.radians(home["lat"]))
    xs = [lon * shrink for _, lon in points]
    ys = [lat for lat, _ in points]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-4)
    scale = min((WIDTH - 2 * PAD) / span, (HEIGHT - 2 * PAD) / span)
    left = (WIDTH - (max(xs) - min(xs)) * scale) / 2
    top = (HEIGHT - (max(ys) - min(ys)) * scale) / 2

    def place(lat: float, lon: float) -> dict[str, float]:
        return {
            "x": round(left + (lon * shrink - min(xs)) * scale, 1),
            "y": round(top + (max(ys) - lat) * scale, 1),
        }

    return {
        "width": WIDTH,
        "height": HEIGHT,
        "home": place(home["lat"], home["lon"]),
        "left_out": len(found["schools"][:limit]) - len(schools),
        "schools": [
            {
                "n": n,
                "code": s["code"],
                "in_catchment": s["in_catchment"],
                **place(s["lat"], s["lon"]),
            }
            for n, s in schools
        ],
    }
