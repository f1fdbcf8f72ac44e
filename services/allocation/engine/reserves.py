"""Reserved seats: some of a school's seats are held for children of a register category.

The rule is deferred acceptance with minority reserves (Hafalir, Yenmez and Yildirim,
"Effective affirmative action in school choice", Theoretical Economics 2013), reserved
seats processed first. Whenever a school with `reserved` seats chooses among the
children proposing to it, it first takes the best eligible children by priority, up to
`reserved` of them (the reserved pool); then it fills every seat left, reserved seats
nobody eligible took included, with the best of all the others by priority (the general
pool). So the reserved pool never holds more than `reserved` children, and reserved seats
the category does not use go back to the general pool in the same run. The choice is
substitutable, so deferred acceptance stays well-defined and stable: no child prefers a
school that would choose them over someone it holds.

An applicant is eligible at a school when their verified `priority_category` is the
school's `reserved_for`. A seat placed by the guarantee (after deferred acceptance) is a
general seat.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from services.allocation.engine.model import Applicant, BoolArray, Instance, IntArray, School

NO_LIMIT = np.iinfo(np.int64).max


def eligibility(
    schools: Sequence[School], applicants: Sequence[Applicant], pref: IntArray
) -> tuple[IntArray | None, BoolArray | None]:
    """(seats reserved per school, eligible per (applicant, rank)); (None, None) if the
    round reserves none."""
    reserved = np.fromiter((s.reserved for s in schools), np.int64, len(schools))
    if not reserved.any():
        return None, None
    if bool(((reserved < 0) | (reserved > [s.capacity for s in schools])).any()):
        raise ValueError("reserved seats must be between 0 and the capacity")
    codes = sorted({s.reserved_for for s in schools if s.reserved and s.reserved_for})
    number = {code: i for i, code in enumerate(codes)}
    wanted = np.array([number.get(s.reserved_for or "", -1) if s.reserved else -1 for s in schools])
    holds = np.fromiter(
        (number.get(a.priority_category or "", -2) for a in applicants), np.int64, len(applicants)
    )
    eligible = (pref >= 0) & (np.append(wanted, -3)[pref] == holds[:, None])
    return reserved, eligible


def rejected_position(held: list[tuple[int, bool]], reserve: int) -> int:
    """Which of `held` (sorted best first, one more than the seats) the school turns away:
    the worst child outside the reserved pool (the first `reserve` eligible children)."""
    eligible_left = sum(flag for _, flag in held)
    for i in range(len(held) - 1, -1, -1):
        if not held[i][1]:
            return i
        eligible_left -= 1
        if eligible_left >= reserve:  # enough better eligible children fill the reserve
            return i
    raise AssertionError("a school holds only reserved seats beyond its capacity")


def pools(instance: Instance, da_rank: IntArray) -> BoolArray:
    """Whether each applicant's deferred-acceptance seat is a reserved one."""
    in_reserve = np.zeros(len(da_rank), dtype=np.bool_)
    if instance.reserved is None or instance.eligible is None:
        return in_reserve
    rows = np.flatnonzero(da_rank >= 0)
    school = instance.pref[rows, da_rank[rows]]
    keep = instance.reserved[school] > 0
    rows, school = rows[keep], school[keep]
    key = instance.keys[rows, da_rank[rows]]
    flag = instance.eligible[rows, da_rank[rows]]
    order = np.lexsort((key, school))
    taken = [0] * len(instance.capacity)
    limit = instance.reserved.tolist()
    ordered = (rows[order].tolist(), school[order].tolist(), flag[order].tolist())
    for a, s, eligible in zip(*ordered, strict=True):
        if eligible and taken[s] < limit[s]:
            taken[s] += 1
            in_reserve[a] = True
    return in_reserve


def reserve_cutoffs(
    instance: Instance, da_rank: IntArray, cutoff: IntArray, full: BoolArray
) -> tuple[IntArray, IntArray]:
    """What a key must beat at each school to block, for an eligible child and for another.

    At a full school with a reserve: an eligible child is chosen if the reserved pool has a
    seat no eligible child holds, else if they beat anyone held; another child only if they
    beat someone in the general pool. A school with a free seat takes anyone (`NO_LIMIT`).
    """
    general = np.where(full, cutoff, NO_LIMIT)
    eligible = general.copy()
    if instance.reserved is None:
        return eligible, general
    in_reserve = pools(instance, da_rank)
    rows = np.flatnonzero(da_rank >= 0)
    school = instance.pref[rows, da_rank[rows]]
    key = instance.keys[rows, da_rank[rows]]
    count = len(instance.capacity)
    used = np.bincount(school[in_reserve[rows]], minlength=count)
    worst_general = np.full(count, -1, dtype=np.int64)
    outside = ~in_reserve[rows]
    np.maximum.at(worst_general, school[outside], key[outside])
    has_reserve = instance.reserved > 0
    general = np.where(has_reserve & full, worst_general, general)
    eligible = np.where(has_reserve & full & (used < instance.reserved), NO_LIMIT, eligible)
    return eligible, general
