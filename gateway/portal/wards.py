"""The city's wards for the catchment lookup: today's official codes and names.

The API has no list of wards (only the catchment of one ward), so the names come from
`vietnam-provinces`, the same source the department's city import uses.
"""

from __future__ import annotations

from functools import lru_cache

from flask import current_app
from vietnam_provinces import ProvinceCode, Ward

from shared.text import folded

__all__ = ["city_wards", "folded", "picker_wards", "wards_of"]


@lru_cache(maxsize=8)
def wards_of(province: int) -> tuple[tuple[str, str], ...]:
    """(5-digit code, name) of every ward and commune of a province, by name."""
    found = [
        (f"{int(ward.code):05d}", ward.name)
        for ward in Ward.iter_by_province(ProvinceCode(province))
    ]
    return tuple(sorted(found, key=lambda ward: folded(ward[1])))


def city_wards() -> tuple[tuple[str, str], ...]:
    """The wards of the portal's city (PORTAL's PROVINCE_CODE), by name."""
    return wards_of(int(current_app.config["PORTAL"]["PROVINCE_CODE"]))


def picker_wards() -> list[tuple[str, str, str]]:
    """(code, name, search key) of the city's wards, as the ward picker lists them."""
    return [(code, name, folded(name)) for code, name in city_wards()]
