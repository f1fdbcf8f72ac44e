"""The allocate job: load the round, run the engine, store the preview in bulk.

The preview is everything later steps read: each child's result with the tiers behind its
explanation, each school's seats and cutoff, the waitlists, the statistics and the export
that a third party can verify. Allocating again replaces all of it.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime
from typing import Any, cast

import numpy as np
from sqlalchemy import Table, delete
from sqlalchemy.orm import Session

from services.allocation.bulk import insert_rows
from services.allocation.engine import (
    Allocation,
    allocate,
    cutoff_table,
    export_csv,
    inputs_digest,
    lottery,
    statistics,
)
from services.allocation.engine.model import PLACED_BY, REASONS
from services.allocation.engine.priority import DISTANCE_SHIFT, DISTANCE_UNKNOWN, TIER_SHIFT
from services.allocation.inputs import RoundInputs, load_inputs
from services.allocation.models import ExportChunk, Placement, Round, RoundSchool, WaitlistEntry

PLACEMENT_COLUMNS = (
    "reference",
    "round_id",
    "citizen_id",
    "preferences",
    "tiers",
    "distances",
    "lottery",
    "school_code",
    "placed_by",
    "rank",
    "reason",
    "seat_school",
    "status",
    "deadline",
    "pool",
    "late",
)


def run_allocation(session: Session, round_: Round, now: datetime) -> Allocation:
    """Allocate the (locked) round and store the preview; `allocated` from now on."""
    inputs = load_inputs(session, round_)
    commit_inputs(round_, inputs, now)
    allocation = allocate(inputs.engine_schools(), inputs.applicants, inputs.seed, inputs.policy)
    store_preview(session, round_, inputs, allocation)
    round_.status, round_.allocated_at = "allocated", now
    round_.preview_stale, round_.job, round_.job_error = False, None, None
    return allocation


def commit_inputs(round_: Round, inputs: RoundInputs, now: datetime) -> None:
    """Record the digest of the applications this run reads, before it computes a result;
    each run adds one, so a change of inputs between previews stays visible."""
    entry = {
        "digest": inputs_digest(inputs.applicants),
        "applications": len(inputs.applicants),
        "at": now.isoformat(),
    }
    round_.input_digests = [*(round_.input_digests or []), entry]


def store_preview(
    session: Session, round_: Round, inputs: RoundInputs, allocation: Allocation
) -> None:
    """Replace the round's stored results with `allocation`'s."""
    round_id = round_.round_id
    for model in (ExportChunk, WaitlistEntry, Placement, RoundSchool):
        session.execute(delete(model).where(model.round_id == round_id))
    session.flush()
    insert_rows(
        session, _table(RoundSchool), _SCHOOL_COLUMNS, _school_rows(round_id, inputs, allocation)
    )
    insert_rows(
        session, _table(Placement), PLACEMENT_COLUMNS, _placement_rows(round_id, allocation)
    )
    insert_rows(session, _table(Placement), PLACEMENT_COLUMNS, _excluded_rows(round_id, inputs))
    insert_rows(
        session,
        _table(WaitlistEntry),
        ("round_id", "school_code", "position", "reference"),
        _waitlist_rows(round_id, allocation),
    )
    chunks = (
        (round_id, i, zlib.compress(text.encode(), 1))
        for i, text in enumerate(export_csv(allocation))
    )
    insert_rows(session, _table(ExportChunk), ("round_id", "chunk", "data"), chunks)
    figures = asdict(statistics(allocation))
    figures["already_placed"] = len(inputs.already_placed)
    # Where the applicants live, for the dashboard's wards (the unplaced are counted already).
    figures["applicants_by_ward"] = dict(Counter(a.ward for a in inputs.applicants if a.ward))
    round_.statistics = figures


_SCHOOL_COLUMNS = (
    "round_id",
    "school_code",
    "base_capacity",
    "held_earlier",
    "capacity",
    "occupied",
    "catchment",
    "cutoff_tier",
    "cutoff_lottery",
    "cutoff_distance",
    "first_choices",
    "ranked",
)


def _school_rows(
    round_id: str, inputs: RoundInputs, allocation: Allocation
) -> Iterator[tuple[Any, ...]]:
    school = allocation.school
    occupied = np.bincount(school[school >= 0], minlength=len(inputs.schools)).tolist()
    cutoffs = cutoff_table(allocation)
    first, ranked = _demand(allocation.instance.pref, len(inputs.schools))
    for s, seats in enumerate(inputs.schools):
        cutoff = cutoffs[seats.code]
        yield (
            round_id,
            seats.code,
            seats.base_capacity,
            seats.held_earlier,
            seats.capacity,
            occupied[s],
            seats.catchment,
            cutoff.tier if cutoff else None,
            str(cutoff.lottery) if cutoff else None,
            cutoff.distance_m if cutoff else None,
            first[s],
            ranked[s],
        )


def _demand(pref: np.ndarray[Any, Any], schools: int) -> tuple[list[int], list[int]]:
    """Per school: the children who ranked it first, and those who ranked it at all."""
    head = pref[:, :1]
    first, anywhere = head[head >= 0], pref[pref >= 0]
    return (
        np.bincount(first, minlength=schools).tolist(),
        np.bincount(anywhere, minlength=schools).tolist(),
    )


def _placement_rows(round_id: str, allocation: Allocation) -> Iterator[tuple[Any, ...]]:
    inst = allocation.instance
    codes = [s.code for s in inst.schools]
    valid = inst.pref >= 0
    tiers = np.where(valid, inst.keys >> TIER_SHIFT, 0).tolist()
    distances = None
    if inst.policy.distance_tiebreak:
        metres = (inst.keys >> DISTANCE_SHIFT) & DISTANCE_UNKNOWN
        distances = np.where(valid & (metres != DISTANCE_UNKNOWN), metres, -1).tolist()
    waiting = np.zeros(len(inst.applicants), dtype=np.bool_)
    waiting[allocation.waitlist] = True
    reserved = allocation.reserved_seat
    in_reserve = [False] * len(inst.applicants) if reserved is None else reserved.tolist()
    columns = zip(
        inst.applicants,
        allocation.school.tolist(),
        allocation.placed_by.tolist(),
        allocation.da_rank.tolist(),
        allocation.reason.tolist(),
        inst.lottery.tolist(),
        waiting.tolist(),
        in_reserve,
        strict=True,
    )
    for a, (applicant, s, by, rank, reason, number, waits, pool) in enumerate(columns):
        school = codes[s] if s >= 0 else None
        status = "offered" if s >= 0 else "waitlisted" if waits else "unplaced"
        yield (
            applicant.reference,
            round_id,
            applicant.citizen_id,
            applicant.preferences,
            _aligned(tiers[a], len(applicant.preferences), 0),
            None if distances is None else _aligned(distances[a], len(applicant.preferences), -1),
            str(number),
            school,
            PLACED_BY[by],
            rank + 1 if PLACED_BY[by] == "preference" else None,
            REASONS[reason],
            school,
            status,
            None,
            None if s < 0 else "reserved" if pool else "general",
            applicant.late,
        )


def _excluded_rows(round_id: str, inputs: RoundInputs) -> Iterator[tuple[Any, ...]]:
    for reference, citizen_id in inputs.already_placed.items():
        yield (
            reference,
            round_id,
            citizen_id,
            (),
            (),
            None,
            str(lottery(inputs.seed, citizen_id)),
            None,
            "unplaced",
            None,
            "already_placed",
            None,
            "unplaced",
            None,
            None,
            False,
        )


def _waitlist_rows(round_id: str, allocation: Allocation) -> Iterator[tuple[Any, ...]]:
    refs = [a.reference for a in allocation.instance.applicants]
    starts = allocation.waitlist_start.tolist()
    members = allocation.waitlist.tolist()
    for s, school in enumerate(allocation.instance.schools):
        for position, a in enumerate(members[starts[s] : starts[s + 1]], start=1):
            yield round_id, school.code, position, refs[a]


def _aligned(row: list[int], length: int, missing: int) -> tuple[int | None, ...]:
    """A per-preference value for each submitted preference; None where it was ignored."""
    values = tuple(None if v == missing else v for v in row[:length])
    return values + (None,) * (length - len(values))


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)
