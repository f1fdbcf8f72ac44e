"""Reading an allocation: placements, explanations, cutoffs and preview statistics."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import numpy as np

from services.allocation.engine.model import (
    BY_GUARANTEE,
    BY_PREFERENCE,
    PLACED_BY,
    REASONS,
    UNPLACED,
    Allocation,
    Explanation,
    Instance,
    Outcome,
    Placement,
    PreferenceOutcome,
    Priority,
    Statistics,
)
from services.allocation.engine.priority import DISTANCE_UNKNOWN, unpack


def priority_of(instance: Instance, key: int) -> Priority:
    """The readable priority behind a key: tier, lottery number (the shared one, when the
    round shares siblings' numbers) and, if used, distance."""
    tier, distance, rank = unpack(key)
    drawn = instance.lottery if instance.shared_lottery is None else instance.shared_lottery
    lottery = int(drawn[instance.by_rank[rank]])  # siblings sharing one: then their own
    known = instance.policy.distance_tiebreak and distance != DISTANCE_UNKNOWN
    return Priority(tier=tier, lottery=lottery, distance_m=distance if known else None)


def placement(allocation: Allocation, reference: str) -> Placement:
    """Where one applicant was placed, and how."""
    return _placement(allocation, allocation.instance.applicant_index[reference])


def placements(allocation: Allocation) -> Iterator[Placement]:
    """Every applicant's placement, in input order."""
    for a in range(len(allocation.instance.applicants)):
        yield _placement(allocation, a)


def cutoff_table(allocation: Allocation) -> dict[str, Priority | None]:
    """Each school's cutoff: the priority of the last admitted, None if it kept a free seat."""
    inst = allocation.instance
    return {
        school.code: None if key < 0 else priority_of(inst, key)
        for school, key in zip(inst.schools, allocation.cutoff.tolist(), strict=True)
    }


def explain(allocation: Allocation, reference: str) -> Explanation:
    """Preference by preference: priority there, what happened, the school's cutoff.

    A preference is `admitted` where the applicant was placed by deferred acceptance,
    `rejected` above it (the school's cutoff was better; the applicant waits there), and
    `not_reached` below it. One that names no school of the round, repeats a school or
    lies beyond the policy's maximum is `ignored`.
    """
    inst = allocation.instance
    a = inst.applicant_index[reference]
    da_rank = int(allocation.da_rank[a])
    outcomes = []
    for r, code in enumerate(inst.applicants[a].preferences):
        s = int(inst.pref[a, r]) if r < inst.width else -1
        if s < 0:
            outcomes.append(PreferenceOutcome(r + 1, code, "ignored", None, None))
            continue
        outcome: Outcome = "rejected"
        if da_rank >= 0 and r >= da_rank:
            outcome = "admitted" if r == da_rank else "not_reached"
        cutoffs = allocation.cutoff
        if allocation.late_cutoff is not None and inst.applicants[a].late:
            cutoffs = allocation.late_cutoff
        cutoff = int(cutoffs[s])
        outcomes.append(
            PreferenceOutcome(
                rank=r + 1,
                school=code,
                outcome=outcome,
                priority=priority_of(inst, int(inst.keys[a, r])),
                cutoff=None if cutoff < 0 else priority_of(inst, cutoff),
                waitlist_position=_position(allocation, a, s) if outcome == "rejected" else None,
            )
        )
    return Explanation(
        reference=reference,
        lottery=int(inst.lottery[a]),
        placement=_placement(allocation, a),
        preferences=tuple(outcomes),
        shared_lottery=shared_lottery(inst, a),
        late=inst.applicants[a].late,
    )


def shared_lottery(instance: Instance, a: int) -> int | None:
    """The number applicant a drew with, when the round shares siblings' numbers."""
    shared = instance.shared_lottery
    return None if shared is None else int(shared[a])


def statistics(allocation: Allocation) -> Statistics:
    """First-choice and top-3 shares, unplaced by reason and by ward, each school's fill rate."""
    inst, rank, by = allocation.instance, allocation.da_rank, allocation.placed_by
    n = len(rank)
    school = allocation.school
    counts = np.bincount(school[school >= 0], minlength=len(inst.capacity)).tolist()
    reasons = np.bincount(allocation.reason[by == UNPLACED], minlength=len(REASONS)).tolist()
    return Statistics(
        applicants=n,
        by_preference=int((by == BY_PREFERENCE).sum()),
        by_guarantee=int((by == BY_GUARANTEE).sum()),
        unplaced=int((by == UNPLACED).sum()),
        first_choice_share=float((rank == 0).sum()) / n if n else 0.0,
        top3_share=float(((rank >= 0) & (rank < 3)).sum()) / n if n else 0.0,
        unplaced_by_reason={
            str(reason): reasons[code] for code, reason in enumerate(REASONS) if reason
        },
        fill_rate={
            s.code: counts[i] / s.capacity if s.capacity else 0.0
            for i, s in enumerate(inst.schools)
        },
        unplaced_by_ward=dict(
            Counter(inst.applicants[a].ward for a in np.flatnonzero(by == UNPLACED).tolist())
        ),
    )


def _placement(allocation: Allocation, a: int) -> Placement:
    inst = allocation.instance
    s, by = int(allocation.school[a]), int(allocation.placed_by[a])
    reserved = allocation.reserved_seat is not None and bool(allocation.reserved_seat[a])
    return Placement(
        reference=inst.applicants[a].reference,
        school=inst.schools[s].code if s >= 0 else None,
        placed_by=PLACED_BY[by],
        rank=int(allocation.da_rank[a]) + 1 if by == BY_PREFERENCE else None,
        reason=REASONS[int(allocation.reason[a])],
        pool=None if s < 0 else "reserved" if reserved else "general",
    )


def _position(allocation: Allocation, a: int, s: int) -> int | None:
    start, end = allocation.waitlist_start[s], allocation.waitlist_start[s + 1]
    hits = np.flatnonzero(allocation.waitlist[start:end] == a)
    return int(hits[0]) + 1 if len(hits) else None
