"""Catchment guarantee: seats left free by deferred acceptance go to unassigned residents."""

from __future__ import annotations

from heapq import heapify, heappop, heapreplace

import numpy as np

from services.allocation.engine.model import (
    BY_GUARANTEE,
    BY_PREFERENCE,
    CATCHMENT_FULL,
    NO_CATCHMENT_SCHOOL,
    NO_REASON,
    UNPLACED,
    BoolArray,
    Instance,
    IntArray,
)


def apply_guarantee(
    instance: Instance, da_rank: IntArray, who: BoolArray | None = None
) -> tuple[IntArray, IntArray, IntArray]:
    """(school, placed_by, reason) per applicant after the guarantee.

    Only `who` (default everyone) are served; the others stay as deferred acceptance left
    them (in a pass that excluded them: unplaced, with no reason).

    Applicants deferred acceptance left unassigned are served in a fixed order: those with
    a priority category first, then by lottery number. Each takes a seat at the school of
    their ward's catchment with the most free seats, ties by school code. Only seats free
    after deferred acceptance are used: nobody placed by preference is displaced. One left
    over is unplaced, `catchment_full` if their ward has a school of the level, else
    `no_catchment_school`.
    """
    n = len(da_rank)
    rows = np.arange(n)
    placed = da_rank >= 0
    school = np.where(placed, instance.pref[rows, np.maximum(da_rank, 0)], -1)
    free = instance.capacity - np.bincount(school[placed], minlength=len(instance.capacity))
    placed_by = np.where(placed, BY_PREFERENCE, UNPLACED).astype(np.int64)
    reason = np.full(n, NO_REASON, dtype=np.int64)
    waiting = np.flatnonzero(~placed if who is None else ~placed & who)
    waiting = waiting[np.lexsort((instance.lottery_rank[waiting], ~instance.category[waiting]))]
    codes = [s.code for s in instance.schools]
    code_rank = [0] * len(codes)
    for position, s in enumerate(sorted(range(len(codes)), key=codes.__getitem__)):
        code_rank[s] = position
    seats = free.tolist()
    ward_schools = instance.ward_schools
    ward = instance.ward.tolist()
    # Per ward, a heap of (-free seats, code rank, school). Free seats only go down, so an
    # entry may overstate a school's; it is refreshed when it reaches the top.
    heaps: dict[int, list[tuple[int, int, int]]] = {}
    for a in waiting.tolist():
        w = ward[a]
        if not ward_schools[w]:
            reason[a] = NO_CATCHMENT_SCHOOL
            continue
        heap = heaps.get(w)
        if heap is None:
            heap = [(-seats[s], code_rank[s], s) for s in ward_schools[w] if seats[s] > 0]
            heapify(heap)
            heaps[w] = heap
        while heap:
            stored, order, s = heap[0]
            if -stored != seats[s]:
                if seats[s] > 0:
                    heapreplace(heap, (-seats[s], order, s))
                else:
                    heappop(heap)
                continue
            school[a], placed_by[a] = s, BY_GUARANTEE
            seats[s] -= 1
            if seats[s]:
                heapreplace(heap, (-seats[s], order, s))
            else:
                heappop(heap)
            break
        else:
            reason[a] = CATCHMENT_FULL
    return school, placed_by, reason
