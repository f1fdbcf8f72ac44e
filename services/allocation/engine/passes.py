"""Late applications: a second pass, after every on-time one, into the seats left.

The on-time applications are allocated first (deferred acceptance, then the guarantee)
as if the late ones did not exist. The late ones then go through deferred acceptance and
the guarantee of their own, over the seats the on-time pass left: each school's capacity
less the seats taken, and its reserved seats less those the reserved pool took (never more
than the seats left). A late application never displaces an on-time child, and stability
holds within each pass: no blocking pair among the on-time children over the full seats,
none among the late ones over the seats left.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from services.allocation.engine.model import BoolArray, Instance, IntArray
from services.allocation.engine.priority import NO_KEY
from services.allocation.engine.reserves import pools


def only(instance: Instance, who: BoolArray) -> Instance:
    """The instance in which only `who` apply (the others rank nothing)."""
    pref = np.where(who[:, None], instance.pref, -1)
    keys = np.where(who[:, None], instance.keys, NO_KEY)
    return dataclasses.replace(instance, pref=pref, keys=keys)


def seats_left(first: Instance, da_rank: IntArray, school: IntArray) -> Instance:
    """The on-time pass's instance with the seats it left, for the late pass to take."""
    taken = np.bincount(school[school >= 0], minlength=len(first.capacity))
    capacity = first.capacity - taken
    reserved = first.reserved
    if reserved is not None:
        reserved_pool = pools(first, da_rank)
        rows = np.flatnonzero(reserved_pool)
        used = np.bincount(first.pref[rows, da_rank[rows]], minlength=len(capacity))
        reserved = np.minimum(capacity, reserved - used)
    return dataclasses.replace(first, capacity=capacity, reserved=reserved)


def late_pass(instance: Instance, first: Instance, da_rank: IntArray, school: IntArray) -> Instance:
    """The instance of the late pass: only the late apply, over the seats left."""
    assert instance.late is not None
    left = seats_left(first, da_rank, school)
    late = only(instance, instance.late)
    return dataclasses.replace(late, capacity=left.capacity, reserved=left.reserved)
