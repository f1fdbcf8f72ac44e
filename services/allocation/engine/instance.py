"""Compiling a round into the arrays the passes run on: preferences, tiers and priority keys.

The keys are built from `engine.priority` (tiers, lottery, distance, the packed layout), for
every applicant and preference at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain, repeat
from operator import attrgetter

import numpy as np
import numpy.typing as npt

from services.allocation.engine.families import household_groups, shared_lotteries
from services.allocation.engine.model import (
    Applicant,
    BoolArray,
    Instance,
    IntArray,
    Policy,
    School,
)
from services.allocation.engine.priority import (
    DISTANCE_SHIFT,
    DISTANCE_UNKNOWN,
    EARTH_RADIUS_M,
    NO_KEY,
    TIER_SHIFT,
    lotteries,
)
from services.allocation.engine.reserves import eligibility


def compile_instance(
    schools: Sequence[School], applicants: Sequence[Applicant], policy: Policy, seed: bytes
) -> Instance:
    """Arrays of the round: school indices and priority keys for every preference.

    Preferences that name no school of the round are ignored (verification rejects them
    upstream), as are a repeated school and any preference beyond `policy.max_preferences`.
    ValueError on repeated school codes or references, a negative capacity, or a child
    (citizen id) entered twice.
    """
    schools, applicants = tuple(schools), tuple(applicants)
    school_index = {s.code: i for i, s in enumerate(schools)}
    if len(school_index) != len(schools):
        raise ValueError("school codes must be unique")
    if any(s.capacity < 0 for s in schools):
        raise ValueError("capacities must not be negative")
    if len(set(map(attrgetter("reference"), applicants))) != len(applicants):
        raise ValueError("application references must be unique")
    ward_index: dict[str, int] = {}
    ward_lists: list[list[int]] = []
    for i, school in enumerate(schools):
        for code in sorted(school.catchment):
            if code not in ward_index:
                ward_index[code] = len(ward_lists)
                ward_lists.append([])
            ward_lists[ward_index[code]].append(i)
    n, width = len(applicants), policy.max_preferences
    served = np.zeros((len(schools) + 1, len(ward_lists) + 1), dtype=np.bool_)
    for w, members in enumerate(ward_lists):
        served[members, w] = True

    no_ward = len(ward_lists)
    wards = map(attrgetter("ward"), applicants)
    ward = np.fromiter(map(ward_index.get, wards, repeat(no_ward)), np.int64, n)
    categories = map(attrgetter("priority_category"), applicants)
    category = np.fromiter(map(bool, categories), np.bool_, n)
    pref = _preference_matrix(applicants, school_index, width)
    valid = pref >= 0
    in_catchment = served[pref, ward[:, None]]  # pref -1 reads the all-False last row
    sibling = _sibling_matrix(applicants, pref, schools) if policy.sibling_priority else None
    if sibling is None and policy.twins_together:
        sibling = np.zeros(pref.shape, dtype=np.bool_)
    tiers = _tiers(in_catchment, category, sibling)

    lot = lotteries(seed, map(attrgetter("citizen_id"), applicants))
    families = policy.shared_sibling_lottery or policy.twins_together
    groups = household_groups(applicants) if families else None
    shared = None
    if policy.shared_sibling_lottery and groups is not None:
        shared = shared_lotteries(lot, groups)
    by_rank = lottery_order(lot, applicants, shared)
    lottery_rank = np.empty(n, dtype=np.int64)
    lottery_rank[by_rank] = np.arange(n, dtype=np.int64)
    keys = tiers << TIER_SHIFT | lottery_rank[:, None]
    if policy.distance_tiebreak:
        keys |= _distances(schools, applicants, pref) << DISTANCE_SHIFT
    keys[~valid] = NO_KEY
    capacity = np.fromiter((s.capacity for s in schools), np.int64, len(schools))
    reserved, eligible = eligibility(schools, applicants, pref)
    late: BoolArray | None = np.fromiter(map(attrgetter("late"), applicants), np.bool_, n)
    if late is not None and not late.any():
        late = None
    extras = [groups, shared, reserved, eligible, late]
    for array in (pref, keys, lot, lottery_rank, by_rank, ward, category, served, capacity):
        array.flags.writeable = False
    for extra in extras:
        if extra is not None:
            extra.flags.writeable = False
    return Instance(
        schools=schools,
        applicants=applicants,
        policy=policy,
        seed=seed,
        pref=pref,
        keys=keys,
        lottery=lot,
        lottery_rank=lottery_rank,
        by_rank=by_rank,
        ward=ward,
        category=category,
        capacity=capacity,
        served=served,
        ward_schools=tuple(tuple(members) for members in ward_lists) + ((),),
        school_index=school_index,
        household=groups,
        shared_lottery=shared,
        reserved=reserved,
        eligible=eligible,
        late=late,
    )


def _preference_matrix(
    applicants: tuple[Applicant, ...], school_index: dict[str, int], width: int
) -> IntArray:
    lists = list(map(attrgetter("preferences"), applicants))
    lengths = np.fromiter(map(len, lists), np.int64, len(lists))
    codes = chain.from_iterable(lists)
    flat = np.fromiter(map(school_index.get, codes, repeat(-1)), np.int64, int(lengths.sum()))
    starts = np.cumsum(lengths) - lengths
    rows = np.repeat(np.arange(len(lists)), lengths)
    cols = np.arange(len(flat)) - np.repeat(starts, lengths)
    keep = cols < width
    pref = np.full((len(lists), width), -1, dtype=np.int64)
    pref[rows[keep], cols[keep]] = flat[keep]
    for r in range(1, width):  # a school named twice counts at its first rank only
        repeated = np.zeros(len(lists), dtype=np.bool_)
        for q in range(r):
            repeated |= pref[:, r] == pref[:, q]
        pref[repeated & (pref[:, r] >= 0), r] = -1
    return pref


def _sibling_matrix(
    applicants: tuple[Applicant, ...], pref: IntArray, schools: tuple[School, ...]
) -> npt.NDArray[np.bool_]:
    sibling = np.zeros(pref.shape, dtype=np.bool_)
    for a, applicant in enumerate(applicants):
        if applicant.sibling_schools:
            for r, s in enumerate(pref[a].tolist()):
                sibling[a, r] = s >= 0 and schools[s].code in applicant.sibling_schools
    return sibling


def _tiers(
    in_catchment: npt.NDArray[np.bool_],
    category: npt.NDArray[np.bool_],
    sibling: npt.NDArray[np.bool_] | None,
) -> IntArray:
    cat = category[:, None]
    if sibling is None:
        return np.where(in_catchment, np.where(cat, 1, 2), 3).astype(np.int64)
    inside = np.where(cat, 1, np.where(sibling, 2, 3))
    return np.where(in_catchment, inside, np.where(sibling, 4, 5)).astype(np.int64)


def lottery_order(
    lot: npt.NDArray[np.uint64],
    applicants: tuple[Applicant, ...],
    shared: npt.NDArray[np.uint64] | None = None,
) -> IntArray:
    """Applicant indices by lottery (by shared number first, if siblings share one, then by
    their own); equal own numbers (odds ~1e-9 a round) by citizen id."""
    if shared is None:
        order = np.argsort(lot, kind="stable").astype(np.int64)
    else:
        order = np.lexsort((lot, shared)).astype(np.int64)
    ranked = lot[order] if shared is None else np.sort(lot)
    if len(ranked) > 1 and bool((ranked[1:] == ranked[:-1]).any()):
        ids = [a.citizen_id for a in applicants]
        if len(set(ids)) != len(ids):
            raise ValueError("a child appears twice in the round")
        first = lot if shared is None else shared
        order = np.array(
            sorted(range(len(ids)), key=lambda i: (int(first[i]), int(lot[i]), ids[i]))
        )
    return order


def _distances(
    schools: tuple[School, ...], applicants: tuple[Applicant, ...], pref: IntArray
) -> IntArray:
    nan = float("nan")
    s_lat = np.array([nan if s.lat is None else s.lat for s in schools] + [nan])
    s_lon = np.array([nan if s.lon is None else s.lon for s in schools] + [nan])
    a_lat = np.array([nan if a.lat is None else a.lat for a in applicants])[:, None]
    a_lon = np.array([nan if a.lon is None else a.lon for a in applicants])[:, None]
    p1, p2 = np.radians(a_lat), np.radians(s_lat[pref])
    dl = np.radians(s_lon[pref] - a_lon)
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    metres = np.rint(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(h)))
    known = np.isfinite(metres)
    out = np.full(pref.shape, DISTANCE_UNKNOWN, dtype=np.int64)
    out[known] = np.minimum(metres[known], DISTANCE_UNKNOWN - 1).astype(np.int64)
    return out
