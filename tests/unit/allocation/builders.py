"""Builders of small rounds, so each test states only what matters to it."""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from services.allocation.engine import Applicant, Policy, School, allocate, export_csv

SEED = b"round-2027-grade_1"


def school(code: str, capacity: int, *wards: str, at: tuple[float, float] | None = None) -> School:
    """A school serving `wards`."""
    lat, lon = at if at else (None, None)
    return School(code, capacity, frozenset(wards), lat, lon)


def child(
    reference: str,
    ward: str,
    *preferences: str,
    citizen_id: str | None = None,
    category: str | None = None,
    siblings: Iterable[str] = (),
    at: tuple[float, float] | None = None,
) -> Applicant:
    """An application; the citizen id defaults to one derived from the reference."""
    lat, lon = at if at else (None, None)
    return Applicant(
        reference=reference,
        citizen_id=citizen_id or citizen_id_for(reference),
        ward=ward,
        preferences=preferences,
        priority_category=category,
        sibling_schools=frozenset(siblings),
        lat=lat,
        lon=lon,
    )


def citizen_id_for(reference: str) -> str:
    """A stable 12-digit id per reference."""
    return f"{int.from_bytes(reference.encode()[-5:], 'big') % 10**12:012d}"


def hmac_lottery(seed: bytes, citizen_id: str) -> int:
    """The rule written out, independently of the engine."""
    return int.from_bytes(hmac.digest(seed, citizen_id.encode(), "sha256")[:8], "big")


def ids_by_lottery(count: int, seed: bytes = SEED) -> list[str]:
    """`count` citizen ids, the best (smallest) lottery number first."""
    ids = [f"0012{i:08d}" for i in range(count)]
    return sorted(ids, key=lambda cid: hmac_lottery(seed, cid))


def small_round_text(policy: Policy | None = None) -> str:
    """A round with every kind of result, as exported."""
    best, second, third, fourth = ids_by_lottery(4)
    schools = [
        school("A", 1, "W1", at=(21.0, 105.8)),
        school("B", 2, "W1", "W2"),
        school("C", 1, "W3"),
    ]
    kids = [
        child("R1", "W1", "A", "B", citizen_id=best, category="policy", at=(21.01, 105.8)),
        child("R2", "W1", "A", "B", citizen_id=second, siblings=["A", "B"]),
        child("R3", "W2", "A", "UNKNOWN", citizen_id=third),
        child("R4", "W9", "A", "C", citizen_id=fourth),
        child("R5", "W9", "C"),
    ]
    result = allocate(schools, kids, SEED, policy or Policy(sibling_priority=True))
    return "".join(export_csv(result, chunk=2))
