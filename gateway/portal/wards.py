"""The city's wards for the catchment lookup: today's official codes and names.

The API has no list of wards (only the catchment of one ward), so the names come from
`vietnam-provinces`, the same source the department's city import uses.
"""

from __future__ import annotations

from functools import lru_cache

from vietnam_provinces import ProvinceCode, Ward

from shared.text import folded

__all__ = ["folded", "ward_name", "wards_of"]


@lru_cache(maxsize=8)
def wards_of(province: int) -> tuple[tuple[str, str], ...]:
    """(5-digit code, name) of every ward and commune of a province, by name."""
    found = [
        (f"{int(ward.code):05d}", ward.name)
        for ward in Ward.iter_by_province(ProvinceCode(province))
    ]
    return tuple(sorted(found, key=lambda ward: folded(ward[1])))


def ward_name(province: int, code: str) -> str | None:
    """The official name of a ward code, if it is one of the province's."""
    return dict(wards_of(province)).get(code)
