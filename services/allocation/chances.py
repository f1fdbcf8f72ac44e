"""What families may read of the estimates and the live demand, in plain Python.

Public figures are per school and tier group, and only where at least `k` applicants
stand behind them: a smaller count is suppressed, and so is a second one of the same
school when the total would give the first away. A family's own chances are its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.allocation.engine.estimate import Z, margin

K_ANONYMITY = 10
# The public split of a school's applicants (the sibling policy's five tiers fold into it).
GROUPS = ("priority", "catchment", "outside")
_GROUP_OF = {False: {1: 0, 2: 1, 3: 2}, True: {1: 0, 2: 1, 3: 1, 4: 2, 5: 2}}
# A chance of no place at any school of the list at or above this gets the warning (the
# catchment guarantee may still seat the child, but at a school the family did not choose).
HIGH_RISK = 0.2


def group_of(tier: int, sibling_policy: bool) -> str:
    """The public group of an engine tier."""
    return GROUPS[_GROUP_OF[sibling_policy][tier]]


def suppress(counts: Sequence[int], k: int = K_ANONYMITY) -> list[int | None]:
    """`counts` with every one below `k` (but above 0) hidden as None; when exactly one is
    hidden, the smallest other non-zero count is hidden too, so the total does not tell it."""
    shown: list[int | None] = [None if 0 < c < k else c for c in counts]
    hidden = [i for i, c in enumerate(shown) if c is None]
    if len(hidden) == 1:
        others = [i for i, c in enumerate(counts) if c and i != hidden[0]]
        if others:
            shown[min(others, key=counts.__getitem__)] = None
    return shown


def demand_row(
    code: str, capacity: int, by_group: Mapping[str, int], first: int, k: int = K_ANONYMITY
) -> dict[str, Any]:
    """One school's live demand: applications listing it (per tier group), per seat."""
    total = sum(by_group.values())
    shown = suppress([by_group.get(g, 0) for g in GROUPS], k)
    visible = total >= k
    return {
        "school_code": code,
        "capacity": capacity,
        "applications": total if visible else None,
        "first_choice": first if first >= k else None,
        "per_seat": round(total / capacity, 2) if visible and capacity else None,
        "by_tier": dict(zip(GROUPS, shown, strict=True)),
    }


@dataclass(frozen=True)
class TierFigure:
    """Counts of one school and engine tier over a batch of draws."""

    tier: int
    applicants: int
    admitted: int  # summed over draws
    reached: int  # draws with at least one admitted


def school_chances(
    code: str, figures: Sequence[TierFigure], draws: int, sibling: bool, k: int = K_ANONYMITY
) -> dict[str, Any]:
    """A school's public estimate per tier group: the share of draws in which a child of the
    group was admitted, and the share of the group's applicants admitted on average."""
    groups: dict[str, list[int]] = {g: [0, 0, 0] for g in GROUPS}
    for f in figures:
        cell = groups[group_of(f.tier, sibling)]
        cell[0] += f.applicants
        cell[1] += f.admitted
        cell[2] = max(cell[2], f.reached)
    tiers: dict[str, dict[str, float] | None] = {}
    for group, (applicants, admitted, reached) in groups.items():
        if applicants < k:
            tiers[group] = None
            continue
        tiers[group] = {
            "applicants": applicants,
            "reached_share": round(reached / draws, 3),
            "admitted_share": round(admitted / (applicants * draws), 3),
        }
    return {"school_code": code, "draws": draws, "margin": round(margin(draws), 3), **tiers}


def own_chances(
    preferences: Sequence[str], choice: Sequence[int], guarantee: int, unplaced: int, draws: int
) -> dict[str, Any]:
    """A family's chances: at each choice, of a place somewhere in the list, of a place by
    the catchment guarantee, of none; with the error stated. `high_risk`: the list may well
    end without a place on it."""
    shares = [c / draws for c in choice[: len(preferences)]]
    listed = sum(shares)
    none = unplaced / draws
    # Decided on the figure the family is shown: in floating point 1 - 0.8 is just under 0.2.
    outside = round(1 - listed, 3)
    return {
        "draws": draws,
        "margin": round(margin(draws), 3),
        "z": Z,
        "choices": [
            {"rank": r, "school_code": s, "chance": round(p, 3)}
            for r, (s, p) in enumerate(zip(preferences, shares, strict=False), start=1)
        ],
        "some_choice": round(listed, 3),
        "guarantee": round(guarantee / draws, 3),
        "no_place": round(none, 3),
        "outside_list": outside,
        "high_risk": outside >= HIGH_RISK,
    }


def suggest(
    listed: Sequence[str],
    serving: Sequence[str],
    free: Mapping[str, int],
    draws: int,
    limit: int = 3,
) -> list[dict[str, Any]]:
    """Schools serving the family's ward, not on its list, with seats left free in the
    draws, the most room first."""
    room = [
        (free.get(code, 0) / draws, code)
        for code in serving
        if code not in listed and free.get(code, 0) > 0
    ]
    room.sort(key=lambda item: (-item[0], item[1]))
    return [{"school_code": code, "free_seats": round(seats, 1)} for seats, code in room[:limit]]
