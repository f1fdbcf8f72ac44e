"""Chances of admission: the real engine run under many independent lottery draws.

While a round is open its secret seed does not exist yet (it is fixed at close), and it must
never be used to estimate. Each draw takes a fresh random seed of its own (or one of a list
given for reproducibility), draws every child's lottery number from it exactly as the round
will (HMAC-SHA256 of the citizen id), and runs the whole allocation: deferred acceptance,
guarantee, waitlists and self-checks. The tally counts, per applicant and per school and
tier, what happened in how many draws.

The error: a share p estimated from N independent draws has the binomial standard error
sqrt(p (1 - p) / N); `Z` of them is the bound stated with every figure (about 99.7 % for
each figure), at most `margin(N)` = Z * 0.5 / sqrt(N) whatever p is.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from operator import attrgetter

import numpy as np
import numpy.typing as npt

from services.allocation.engine.allocation import allocate_instance
from services.allocation.engine.instance import compile_instance, lottery_order
from services.allocation.engine.model import (
    BY_GUARANTEE,
    BY_PREFERENCE,
    UNPLACED,
    Allocation,
    Applicant,
    Instance,
    IntArray,
    Policy,
    School,
)
from services.allocation.engine.priority import NO_KEY, RANK_MASK, TIER_SHIFT, lotteries

Z = 3.0
SEED_BYTES = 32
TIERS = 6  # tier numbers 1..5 (sibling policy); column 0 stays empty


class RoundSeedUsed(ValueError):
    """An estimate was asked to draw with the round's own seed."""


def fresh_seeds(count: int) -> list[bytes]:
    """`count` independent random seeds from the operating system's CSPRNG."""
    return [secrets.token_bytes(SEED_BYTES) for _ in range(count)]


def margin(draws: int) -> float:
    """The largest error stated for a share from `draws` draws (Z standard errors at p=½)."""
    return Z * 0.5 / math.sqrt(draws) if draws else 1.0


def standard_error(share: float, draws: int) -> float:
    """The binomial standard error of a share estimated from `draws` draws."""
    return math.sqrt(share * (1 - share) / draws) if draws else 1.0


def redraw(instance: Instance, seed: bytes) -> Instance:
    """The instance as `compile_instance` builds it with `seed`, without recompiling."""
    lot = lotteries(seed, map(attrgetter("citizen_id"), instance.applicants))
    return reorder(instance, lottery_order(lot, instance.applicants), lot, seed)


def reorder(
    instance: Instance, by_rank: IntArray, lot: npt.NDArray[np.uint64], seed: bytes
) -> Instance:
    """The instance with children ranked by `by_rank` (best first) and lottery numbers `lot`."""
    n = len(instance.applicants)
    by_rank = np.asarray(by_rank, dtype=np.int64)
    rank = np.empty(n, dtype=np.int64)
    rank[by_rank] = np.arange(n, dtype=np.int64)
    valid = instance.pref >= 0
    keys = np.where(valid, (instance.keys & ~RANK_MASK) | rank[:, None], NO_KEY)
    for array in (keys, rank, by_rank):
        array.flags.writeable = False
    return replace(instance, seed=seed, lottery=lot, lottery_rank=rank, by_rank=by_rank, keys=keys)


@dataclass(frozen=True, eq=False)
class Tally:
    """Counts over `draws` draws of one round's current applications.

    Per applicant a (row) and rank r: `choice[a, r]` draws admitted at that choice,
    `guarantee[a]` placed by the catchment guarantee, `unplaced[a]` with no place. Per
    school s and tier t: `applicants[s, t]` children listing s whose tier there is t,
    `first_choice[s, t]` those listing it first, `admitted[s, t]` the children of that tier
    admitted there summed over draws, `reached[s, t]` draws in which at least one was.
    `free[s]` sums the seats left free after the guarantee.
    """

    draws: int
    schools: tuple[str, ...]
    references: tuple[str, ...]
    capacity: IntArray
    tiers: IntArray
    choice: IntArray
    guarantee: IntArray
    unplaced: IntArray
    applicants: IntArray
    first_choice: IntArray
    admitted: IntArray
    reached: IntArray
    free: IntArray


def demand(instance: Instance) -> tuple[IntArray, IntArray, IntArray]:
    """(tier per preference, applicants per school and tier, first choices per school and
    tier): what needs no draw."""
    valid = instance.pref >= 0
    tiers = np.where(valid, instance.keys >> TIER_SHIFT, 0)
    cells = instance.pref * TIERS + tiers
    size = len(instance.schools) * TIERS
    listing = np.bincount(cells[valid], minlength=size).reshape(-1, TIERS)
    first = valid.argmax(axis=1)
    rows = np.flatnonzero(valid.any(axis=1))
    firsts = np.bincount(cells[rows, first[rows]], minlength=size).reshape(-1, TIERS)
    return tiers, listing, firsts


def estimate(
    schools: Sequence[School],
    applicants: Sequence[Applicant],
    policy: Policy,
    seeds: Iterable[bytes],
    round_seed: bytes | None = None,
    between: Callable[[], None] | None = None,
) -> Tally:
    """Run the allocation once per seed and tally the outcomes.

    `seeds`: `fresh_seeds(n)` in service, a fixed list to reproduce figures. RoundSeedUsed
    if one of them is `round_seed`. `between` is called after compiling and after each
    draw (the service yields there, so its other work goes on during a long batch).
    """
    seeds = list(seeds)
    if not seeds:
        raise ValueError("an estimate needs at least one draw")
    if round_seed is not None and round_seed in seeds:
        raise RoundSeedUsed("the round's own seed must never be used for an estimate")
    base = compile_instance(schools, applicants, policy, seeds[0])
    if between is not None:
        between()
    tiers, listing, firsts = demand(base)
    n, width = base.pref.shape
    count = len(base.schools)
    tally = Tally(
        draws=len(seeds),
        schools=tuple(s.code for s in base.schools),
        references=tuple(a.reference for a in base.applicants),
        capacity=base.capacity,
        tiers=tiers,
        choice=np.zeros((n, width), dtype=np.int64),
        guarantee=np.zeros(n, dtype=np.int64),
        unplaced=np.zeros(n, dtype=np.int64),
        applicants=listing,
        first_choice=firsts,
        admitted=np.zeros((count, TIERS), dtype=np.int64),
        reached=np.zeros((count, TIERS), dtype=np.int64),
        free=np.zeros(count, dtype=np.int64),
    )
    for i, seed in enumerate(seeds):
        instance = base if i == 0 else redraw(base, seed)
        add_draw(tally, allocate_instance(instance))
        if between is not None:
            between()
    return tally


def add_draw(tally: Tally, allocation: Allocation) -> None:
    """Count one draw's allocation into the tally."""
    instance = allocation.instance
    by = allocation.placed_by
    rows = np.flatnonzero(by == BY_PREFERENCE)
    ranks = allocation.da_rank[rows]
    np.add.at(tally.choice, (rows, ranks), 1)
    tally.guarantee[by == BY_GUARANTEE] += 1
    tally.unplaced[by == UNPLACED] += 1
    cells = instance.pref[rows, ranks] * TIERS + tally.tiers[rows, ranks]
    admitted = np.bincount(cells, minlength=len(tally.schools) * TIERS).reshape(-1, TIERS)
    tally.admitted[...] += admitted
    tally.reached[...] += admitted > 0
    school = allocation.school
    held = np.bincount(school[school >= 0], minlength=len(tally.schools))
    tally.free[...] += instance.capacity - held
