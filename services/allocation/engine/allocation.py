"""The whole allocation of a round: priorities, deferred acceptance, guarantee, waitlists."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from services.allocation.engine.checks import check_allocation, cutoffs
from services.allocation.engine.deferred_acceptance import deferred_acceptance
from services.allocation.engine.guarantee import apply_guarantee
from services.allocation.engine.model import Allocation, Applicant, Instance, Policy, School
from services.allocation.engine.priority import compile_instance
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


def _allocate(instance: Instance) -> Allocation:
    da_rank = deferred_acceptance(instance)
    school, placed_by, reason = apply_guarantee(instance, da_rank)
    cutoff, _ = cutoffs(instance, da_rank)
    start, members = build_waitlists(instance, da_rank)
    for array in (da_rank, school, placed_by, reason, cutoff, start, members):
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
    )
    check_allocation(allocation)
    return allocation
