"""Twins together: the rounds of deferred acceptance that prefer a sibling's school.

See `engine.families` for the rule and what stability means under it.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict

import numpy as np

from services.allocation.engine.model import BoolArray, Instance, IntArray
from services.allocation.engine.priority import (
    S_CATCHMENT,
    S_CATCHMENT_SIBLING,
    S_OTHER,
    S_SIBLING,
    TIER_SHIFT,
)


def twin_claims(instance: Instance, da_rank: IntArray) -> BoolArray:
    """(applicant, rank) pairs to prefer as a twin that are not yet: a linked sibling was
    placed by deferred acceptance at that school, ranked above the applicant's result."""
    claims = np.zeros(instance.pref.shape, dtype=np.bool_)
    groups = instance.household
    if groups is None:
        return claims
    members: dict[int, list[int]] = defaultdict(list)
    for a in np.flatnonzero(groups >= 0).tolist():
        members[int(groups[a])].append(a)
    pref, width = instance.pref, instance.width
    already = instance.twin
    for siblings in members.values():
        for b in siblings:
            placed = {int(pref[a, da_rank[a]]) for a in siblings if a != b and da_rank[a] >= 0}
            limit = int(da_rank[b]) if da_rank[b] >= 0 else width
            for r in range(limit):
                s = int(pref[b, r])
                if s in placed and not (already is not None and already[b, r]):
                    claims[b, r] = True
    return claims


def prefer_twins(instance: Instance, claims: BoolArray) -> Instance:
    """The instance with `claims` raised to the sibling tier (the keys keep the rest)."""
    tiers = instance.keys >> TIER_SHIFT
    raised = np.where(
        claims & (tiers == S_CATCHMENT),
        S_CATCHMENT_SIBLING,
        np.where(claims & (tiers == S_OTHER), S_SIBLING, tiers),
    )
    low = instance.keys & ((1 << TIER_SHIFT) - 1)
    keys = np.where(instance.pref >= 0, raised << TIER_SHIFT | low, instance.keys)
    twin = claims if instance.twin is None else instance.twin | claims
    for array in (keys, twin):
        array.flags.writeable = False
    return dataclasses.replace(instance, keys=keys, twin=twin)
