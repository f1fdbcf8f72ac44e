"""Made-up but stable map points for the demo city: a centre per ward, homes and schools
scattered around it. Drawn from a hash of the code, not from the city's random generator,
so adding coordinates changes none of the other generated data."""

from __future__ import annotations

import hashlib

HANOI = (21.03, 105.83)  # about Hoàn Kiếm
CITY_SPREAD = 0.25  # degrees either way: roughly the urban districts and the near suburbs


def _unit_pair(key: str) -> tuple[float, float]:
    """Two numbers in [-1, 1) fixed by `key`."""
    digest = hashlib.sha256(key.encode()).digest()
    return (
        int.from_bytes(digest[:8], "big") / 2**63 - 1,
        int.from_bytes(digest[8:16], "big") / 2**63 - 1,
    )


def ward_centre(ward_code: str) -> tuple[float, float]:
    """The ward's (lat, lon)."""
    dy, dx = _unit_pair("ward:" + ward_code)
    return HANOI[0] + dy * CITY_SPREAD, HANOI[1] + dx * CITY_SPREAD


def point_near(ward_code: str, key: str, spread: float) -> tuple[float, float]:
    """A (lat, lon) within `spread` degrees of the ward's centre, fixed by `key`; rounded to
    six decimals (about 0.1 m), as a geocoder would give it."""
    lat, lon = ward_centre(ward_code)
    dy, dx = _unit_pair(key)
    return round(lat + dy * spread, 6), round(lon + dx * spread, 6)
