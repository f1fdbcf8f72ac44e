"""The whole allocation of a round: priorities, deferred acceptance, guarantee, waitlists."""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np

from services.allocation.engine.checks import check_allocation, cutoffs
from services.allocation.engine.deferred_acceptance import deferred_acceptance
from services.allocation.engine.guarantee import apply_guarantee
from services.allocation.engine.instance import compile_instance
from services.allocation.engine.model import (
    Allocation,
    Applicant,
    Instance,
    IntArray,
    Policy,
    School,
)
from services.allocation.engine.passes import late_pass, only
from services.allocation.engine.reserves import pools
from services.allocation.engine.twins import prefer_twins, twin_claims
from services.allocation.engine.waitlists import build_waitlists


def allocate(
    schools: Sequence[School],
    applicants: Sequence[Applicant],
    seed: bytes,
    policy: Policy | None = None,
) -> Allocation:
    """Allocate a round and check the result; AllocationInvariantViolated if a rule broke."""
    with _collector_paused():
        instance = compile_instance(schools, applicants, policy or Policy(), seed)
        return allocate_instance(instance)


def allocate_instance(instance: Instance) -> Allocation:
    """`allocate` over an already compiled instance."""
    with _collector_paused():
        return _allocate(instance)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the run.

    The run creates no reference cycles, yet the millions of integers and lists it makes
    would trigger full collections that walk every object the caller holds (the round's
    applicants), which cost more than the allocation itself at city scale.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _deferred(instance: Instance) -> tuple[Instance, IntArray]:
    """Deferred acceptance; with `twins_together`, rerun until no twin claim is left
    (see `engine.families`), returning the instance with the final priorities."""
    da_rank = deferred_acceptance(instance)
    if instance.policy.twins_together and instance.household is not None:
        while (claims := twin_claims(instance, da_rank)).any():
            instance = prefer_twins(instance, claims)
            da_rank = deferred_acceptance(instance)
    return instance, da_rank


def _allocate(instance: Instance) -> Allocation:
    late = instance.late
    late_cutoff = None
    if late is None:
        instance, da_rank = _deferred(instance)
        school, placed_by, reason = apply_guarantee(instance, da_rank)
        cutoff, _ = cutoffs(instance, da_rank)
        in_reserve = pools(instance, da_rank)
    else:
        first, da_first = _deferred(only(instance, ~late))
        on_time = apply_guarantee(first, da_first, ~late)
        second, da_late = _deferred(late_pass(instance, first, da_first, on_time[0]))
        in_late = apply_guarantee(second, da_late, late)
        da_rank = np.where(late, da_late, da_first)
        school, placed_by, reason = (
            np.where(late, b, a) for a, b in zip(on_time, in_late, strict=True)
        )
        keys = np.where(late[:, None], second.keys, first.keys)
        twin = None
        if first.twin is not None or second.twin is not None:
            twin = np.zeros(keys.shape, dtype=np.bool_)
            for part in (first.twin, second.twin):
                if part is not None:
                    twin |= part
        cutoff, _ = cutoffs(first, np.where(late, -1, da_rank))
        late_cutoff, _ = cutoffs(second, np.where(late, da_rank, -1))
        in_reserve = np.where(late, pools(second, da_late), pools(first, da_first))
        keys.flags.writeable = False
        instance = dataclasses.replace(instance, keys=keys, twin=twin)
    start, members = build_waitlists(instance, da_rank)
    for array in (da_rank, school, placed_by, reason, cutoff, start, members, in_reserve):
        array.flags.writeable = False
    allocation = Allocation(
        instance=instance,
        da_rank=da_rank,
        school=school,
        placed_by=placed_by,
        reason=reason,
        cutoff=cutoff,
        waitlist_start=start,
        waitlist=members,
        late_cutoff=late_cutoff,
        reserved_seat=in_reserve,
    )
    check_allocation(allocation)
    return allocation
