"""Self-checks run on every allocation; a failure is loud, never a quiet wrong result."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from services.allocation.engine.model import (
    BY_GUARANTEE,
    BY_PREFERENCE,
    CATCHMENT_FULL,
    NO_CATCHMENT_SCHOOL,
    UNPLACED,
    Allocation,
    BoolArray,
    Instance,
    IntArray,
)
from services.allocation.engine.passes import late_pass, only
from services.allocation.engine.reserves import reserve_cutoffs


class AllocationInvariantViolated(Exception):
    """An allocation broke a rule it must keep; it must not be published."""


def da_ranks_from_assignment(instance: Instance, assignment: Mapping[str, str | None]) -> IntArray:
    """Rank index of each applicant's assigned school among their preferences, else -1.

    A school outside the applicant's preferences (a guarantee placement) counts as -1, as
    no school is assigned: the guarantee is outside the preference lists, so it is neither
    part of deferred acceptance's outcome nor of its stability.
    """
    index = instance.school_index
    assigned = np.fromiter(
        (index.get(assignment.get(a.reference) or "", -1) for a in instance.applicants),
        np.int64,
        len(instance.applicants),
    )
    hits = (instance.pref == assigned[:, None]) & (assigned[:, None] >= 0)
    return np.where(hits.any(axis=1), hits.argmax(axis=1), -1).astype(np.int64)


def cutoffs(instance: Instance, da_rank: IntArray) -> tuple[IntArray, BoolArray]:
    """Per school, the key of the worst applicant deferred acceptance admitted (-1 if none
    or if the school kept a free seat), and whether the school was full."""
    rows = np.flatnonzero(da_rank >= 0)
    school = instance.pref[rows, da_rank[rows]]
    key = instance.keys[rows, da_rank[rows]]
    full = np.bincount(school, minlength=len(instance.capacity)) >= instance.capacity
    worst = np.full(len(instance.capacity), -1, dtype=np.int64)
    np.maximum.at(worst, school, key)
    return np.where(full, worst, -1), full


def blocking_pairs(instance: Instance, da_rank: IntArray) -> BoolArray:
    """Mask of (applicant, rank) pairs that block: the applicant prefers that school to their
    result, and the school kept a free seat or admitted someone with a worse key (at a
    school with reserved seats: would choose them, see `reserves.reserve_cutoffs`)."""
    cutoff, full = cutoffs(instance, da_rank)
    limit = np.where(da_rank >= 0, da_rank, instance.width)
    ranks = np.arange(instance.width)[None, :]
    valid = instance.pref >= 0
    if instance.reserved is None:
        # One extra entry, read by empty preferences (-1) and then masked out.
        beats = np.append(np.where(full, cutoff, np.iinfo(np.int64).max), 0)[instance.pref]
    else:
        eligible, general = (
            np.append(c, 0) for c in reserve_cutoffs(instance, da_rank, cutoff, full)
        )
        assert instance.eligible is not None
        beats = np.where(instance.eligible, eligible[instance.pref], general[instance.pref])
    return valid & (ranks < limit[:, None]) & (instance.keys < beats)


def count_blocking_pairs(instance: Instance, da_rank: IntArray) -> int:
    """Number of blocking pairs of a deferred-acceptance outcome; 0 means stable.

    `da_rank` holds each applicant's placed rank index, -1 for none; a guarantee placement
    counts as none (see `da_ranks_from_assignment`).
    """
    return int(blocking_pairs(instance, da_rank).sum())


def blocking_pairs_by_pass(instance: Instance, da_rank: IntArray, school: IntArray) -> int:
    """`count_blocking_pairs`, pass by pass when there are late applications: the on-time
    children over every seat, the late ones over the seats the on-time pass left."""
    late = instance.late
    if late is None:
        return count_blocking_pairs(instance, da_rank)
    first = only(instance, ~late)
    da_first = np.where(late, -1, da_rank)
    second = late_pass(instance, first, da_first, np.where(late, -1, school))
    return count_blocking_pairs(first, da_first) + count_blocking_pairs(
        second, np.where(late, da_rank, -1)
    )


def over_reserve(allocation: Allocation) -> list[str]:
    """Codes of schools whose reserved pool holds more children than seats reserved."""
    inst, taken = allocation.instance, allocation.reserved_seat
    if inst.reserved is None or taken is None:
        return []
    rows = np.flatnonzero(taken)
    counts = np.bincount(allocation.school[rows], minlength=len(inst.capacity))
    return [inst.schools[s].code for s in np.flatnonzero(counts > inst.reserved)]


def over_capacity(instance: Instance, school: IntArray) -> list[str]:
    """Codes of schools holding more applicants than seats."""
    counts = np.bincount(school[school >= 0], minlength=len(instance.capacity))
    return [instance.schools[s].code for s in np.flatnonzero(counts > instance.capacity)]


def check_allocation(allocation: Allocation) -> None:
    """Raise AllocationInvariantViolated unless every rule of the outcome holds."""
    inst, rank, school = allocation.instance, allocation.da_rank, allocation.school
    by, reason = allocation.placed_by, allocation.reason
    problems: list[str] = []
    full_schools = over_capacity(inst, school)
    if full_schools:
        problems.append(f"over capacity: {', '.join(full_schools[:10])}")
    rows = np.arange(len(rank))
    at_rank = inst.pref[rows, np.maximum(rank, 0)]
    if bool(((by == BY_PREFERENCE) != (rank >= 0)).any()):
        problems.append("placed_by 'preference' does not match deferred acceptance")
    if bool(((by == BY_PREFERENCE) & (school != at_rank)).any()):
        problems.append("a preference placement is not at the applicant's ranked school")
    guaranteed = by == BY_GUARANTEE
    served = _serves(inst, school)
    if bool((guaranteed & ~served).any()):
        problems.append("a guarantee placement is outside the applicant's catchment")
    unplaced = by == UNPLACED
    if bool((unplaced & (school >= 0)).any()) or bool((~unplaced & (school < 0)).any()):
        problems.append("unplaced applicants and schools disagree")
    problems += _unplaced_problems(inst, school, unplaced, reason)
    over = over_reserve(allocation)
    if over:
        problems.append(f"reserved pool over its seats: {', '.join(over[:10])}")
    pairs = blocking_pairs_by_pass(inst, rank, school)
    if pairs:
        problems.append(f"{pairs} blocking pairs")
    if problems:
        raise AllocationInvariantViolated("; ".join(problems))


def _serves(inst: Instance, school: IntArray) -> BoolArray:
    """Whether each applicant's school serves their ward (False when unplaced)."""
    return inst.served[school, inst.ward] & (school >= 0)


def _unplaced_problems(
    inst: Instance, school: IntArray, unplaced: BoolArray, reason: IntArray
) -> list[str]:
    """No unplaced applicant beside a free catchment seat, and every reason is true."""
    counts = np.bincount(school[school >= 0], minlength=len(inst.capacity))
    has_free = np.append(counts < inst.capacity, False)
    ward_has_free = np.asarray(inst.served[has_free].any(axis=0))
    ward_has_school = np.asarray(inst.served.any(axis=0))
    expected = np.where(ward_has_school[inst.ward], CATCHMENT_FULL, NO_CATCHMENT_SCHOOL)
    problems = []
    if bool((unplaced & (reason != expected)).any()):
        problems.append("an unplaced applicant has the wrong reason")
    if bool((unplaced & ward_has_free[inst.ward]).any()):
        problems.append("an applicant is unplaced beside a free catchment seat")
    return problems
