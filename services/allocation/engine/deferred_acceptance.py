"""Student-proposing deferred acceptance (Gale–Shapley) with school capacities."""

from __future__ import annotations

from array import array
from bisect import insort
from heapq import heappush, heapreplace
from itertools import chain

import numpy as np

from services.allocation.engine.model import Instance, IntArray
from services.allocation.engine.priority import RANK_MASK
from services.allocation.engine.reserves import rejected_position


def deferred_acceptance(instance: Instance) -> IntArray:
    """The rank index (0-based) each applicant is placed at, -1 if rejected everywhere.

    Every free applicant proposes to their next ranked school; a school holds the best
    `capacity` proposals by priority key and rejects the worst when over. Keys are unique
    (the lottery rank is part of each), so priorities are strict and the outcome is the
    applicant-optimal stable matching whatever order the proposals come in. That lets the
    first round, where everyone proposes to their first choice, run as one array sort;
    only the applicants it rejects go through the proposal loop.

    A school with reserved seats chooses as `engine.reserves` says; its proposals all go
    through the loop.
    """
    if instance.reserved is not None:
        return _with_reserves(instance)
    n, width = instance.pref.shape
    held, next_at, free = _first_round(instance)
    pref = array("q", instance.pref.tobytes())
    keys = array("q", instance.keys.tobytes())
    by_rank = instance.by_rank.tolist()
    capacity = instance.capacity.tolist()
    pop, push = free.pop, free.append
    while free:
        a = pop()
        i = next_at[a]
        end = (a + 1) * width
        while i < end:
            s = pref[i]
            i += 1
            if s < 0:
                continue
            heap = held[s]  # negated keys of the applicants s holds: heap[0] is the worst
            key = keys[i - 1]
            if len(heap) < capacity[s]:
                heappush(heap, -key)
                break
            if heap and -heap[0] > key:
                push(by_rank[-heapreplace(heap, -key) & RANK_MASK])
                break
        next_at[a] = i
    return _ranks(instance, held, next_at)


def _ranks(instance: Instance, held: list[list[int]], next_at: list[int]) -> IntArray:
    """Each applicant's placed rank index, from the held (negated) keys."""
    n, width = instance.pref.shape
    rank = np.full(n, -1, dtype=np.int64)
    negated = np.array(list(chain.from_iterable(held)), dtype=np.int64)
    admitted = instance.by_rank[-negated & RANK_MASK]
    rank[admitted] = np.array(next_at)[admitted] - 1 - admitted * width
    return rank


def _with_reserves(instance: Instance) -> IntArray:
    """The loop above, where a school with a reserve keeps its proposals sorted best first
    with their eligibility and turns away `rejected_position`."""
    assert instance.reserved is not None and instance.eligible is not None
    n, width = instance.pref.shape
    reserve = instance.reserved.tolist()
    held, next_at, free = _first_round(instance, np.where(instance.reserved > 0, 0, -1))
    again = [a for a in free if reserve[instance.pref[a, next_at[a] - 1 - a * width]]]
    for a in again:
        next_at[a] -= 1  # they proposed nowhere yet: the school with a reserve hears them
    pref = array("q", instance.pref.tobytes())
    keys = array("q", instance.keys.tobytes())
    eligible = instance.eligible.ravel().tolist()
    by_rank = instance.by_rank.tolist()
    capacity = instance.capacity.tolist()
    sorted_held: list[list[tuple[int, bool]]] = [[] for _ in capacity]
    pop, push = free.pop, free.append
    while free:
        a = pop()
        i = next_at[a]
        end = (a + 1) * width
        while i < end:
            s = pref[i]
            i += 1
            if s < 0:
                continue
            key = keys[i - 1]
            if reserve[s]:
                bucket = sorted_held[s]
                insort(bucket, (key, eligible[i - 1]))
                if len(bucket) <= capacity[s]:
                    break
                out = bucket.pop(rejected_position(bucket, reserve[s]))[0]
                if out != key:
                    push(by_rank[out & RANK_MASK])
                    break
                continue
            heap = held[s]
            if len(heap) < capacity[s]:
                heappush(heap, -key)
                break
            if heap and -heap[0] > key:
                push(by_rank[-heapreplace(heap, -key) & RANK_MASK])
                break
        next_at[a] = i
    for s, bucket in enumerate(sorted_held):
        held[s].extend(-key for key, _ in bucket)
    return _ranks(instance, held, next_at)


def _first_round(
    instance: Instance, seats: IntArray | None = None
) -> tuple[list[list[int]], list[int], list[int]]:
    """Everyone proposes to their first valid choice at once; each school keeps its best.

    Returns the schools' heaps, each applicant's next flat proposal index, and the rejected.
    `seats`, where not negative, overrides a school's capacity for this round.
    """
    pref, keys, capacity = instance.pref, instance.keys, instance.capacity
    if seats is not None:
        capacity = np.where(seats >= 0, seats, capacity)
    n, width = pref.shape
    valid = pref >= 0
    first = valid.argmax(axis=1)
    rows = np.flatnonzero(valid.any(axis=1))
    school, key = pref[rows, first[rows]], keys[rows, first[rows]]
    order = np.lexsort((key, school))
    rows, school, key = rows[order], school[order], key[order]
    counts = np.bincount(school, minlength=len(capacity))
    position = np.arange(len(rows)) - (np.cumsum(counts) - counts)[school]
    kept = position < capacity[school]
    kept_counts = np.minimum(counts, capacity)
    ends = np.cumsum(kept_counts).tolist()
    # A school's kept keys sorted best first; negated and reversed, they form a valid heap.
    negated = (-key[kept]).tolist()
    held = [
        negated[end - size : end][::-1]
        for end, size in zip(ends, kept_counts.tolist(), strict=True)
    ]
    next_at = (np.arange(n) * width + first + 1).tolist()
    return held, next_at, rows[~kept].tolist()
