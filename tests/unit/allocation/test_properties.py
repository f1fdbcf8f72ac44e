"""Properties that hold on every random round, checked against the rules written out."""

from __future__ import annotations

import random
import warnings
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matching.games import HospitalResident

from services.allocation.engine import (
    Allocation,
    allocate,
    compile_instance,
    count_blocking_pairs,
    deferred_acceptance,
)
from services.allocation.engine.explain import placements
from services.allocation.engine.export import export_csv, verify_export
from services.allocation.engine.seats import current_waitlist, decline, initial_state
from services.allocation.engine.waitlists import waitlist
from tests.unit.allocation.strategies import (
    Round,
    effective_preferences,
    rounds,
    rule_priority,
    schools_by_code,
)

fast = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run(round_: Round) -> Allocation:
    return allocate(round_.schools, round_.applicants, round_.seed, round_.policy)


def preference_results(result: Allocation) -> dict[str, str | None]:
    """Each reference's school when placed by preference, else None."""
    return {
        p.reference: p.school if p.placed_by == "preference" else None for p in placements(result)
    }


@fast
@given(rounds())
def test_no_blocking_pairs_under_the_rules_as_written(round_: Round) -> None:
    result = run(round_)
    assert count_blocking_pairs(result.instance, result.da_rank) == 0
    schools = schools_by_code(round_.schools)
    placed = preference_results(result)
    admitted: dict[str, list[tuple[int, int, int, int]]] = {code: [] for code in schools}
    for a in round_.applicants:
        code = placed[a.reference]
        if code is not None:
            admitted[code].append(rule_priority(schools[code], a, round_))
    for a in round_.applicants:
        prefs = effective_preferences(a, round_)
        mine = placed[a.reference]
        better = prefs[: prefs.index(mine)] if mine else prefs
        for code in better:
            others = admitted[code]
            assert len(others) >= schools[code].capacity, f"{a.reference} fits {code}"
            assert all(rule_priority(schools[code], a, round_) > p for p in others)


@fast
@given(rounds())
def test_capacities_are_never_exceeded(round_: Round) -> None:
    result = run(round_)
    counts = Counter(p.school for p in placements(result) if p.school)
    assert all(counts[s.code] <= s.capacity for s in round_.schools)


@fast
@given(rounds(), st.randoms())
def test_same_seed_gives_the_same_result_whatever_the_input_order(
    round_: Round, rnd: random.Random
) -> None:
    first = list(placements(run(round_)))
    again = list(placements(run(round_)))
    shuffled = list(round_.applicants)
    rnd.shuffle(shuffled)
    reordered = allocate(round_.schools, shuffled, round_.seed, round_.policy)
    assert first == again
    assert sorted(first, key=lambda p: p.reference) == sorted(
        placements(reordered), key=lambda p: p.reference
    )


@fast
@given(rounds())
def test_guarantee_only_uses_seats_left_free_by_deferred_acceptance(round_: Round) -> None:
    result = run(round_)
    instance = compile_instance(round_.schools, round_.applicants, round_.policy, round_.seed)
    assert deferred_acceptance(instance).tolist() == result.da_rank.tolist()
    schools = schools_by_code(round_.schools)
    by_preference = Counter(p.school for p in placements(result) if p.placed_by == "preference")
    by_guarantee = Counter(p.school or "" for p in placements(result) if p.placed_by == "guarantee")
    for code, count in by_guarantee.items():
        assert count <= schools[code].capacity - by_preference[code]
    for a, p in zip(round_.applicants, placements(result), strict=True):
        if p.placed_by == "guarantee":
            assert p.school is not None
            assert a.ward in schools[p.school].catchment
            assert p.school not in effective_preferences(a, round_)
        if p.placed_by == "unplaced":
            local = [s for s in round_.schools if a.ward in s.catchment]
            full = Counter(q.school for q in placements(result) if q.school)
            assert all(full[s.code] == s.capacity for s in local)
            assert p.reason == ("catchment_full" if local else "no_catchment_school")


@fast
@given(rounds())
def test_waitlists_hold_those_who_ranked_the_school_above_their_result_in_priority_order(
    round_: Round,
) -> None:
    result = run(round_)
    schools = schools_by_code(round_.schools)
    placed = preference_results(result)
    expected: dict[str, list[tuple[tuple[int, int, int, int], str]]] = {c: [] for c in schools}
    for a in round_.applicants:
        prefs = effective_preferences(a, round_)
        mine = placed[a.reference]
        for code in prefs[: prefs.index(mine)] if mine else prefs:
            expected[code].append((rule_priority(schools[code], a, round_), a.reference))
    for code, entries in expected.items():
        assert waitlist(result, code) == tuple(ref for _, ref in sorted(entries))


@fast
@given(rounds())
def test_deferred_acceptance_equals_the_matching_library_resident_optimal_solution(
    round_: Round,
) -> None:
    schools = schools_by_code(round_.schools)
    open_codes = {code for code, s in schools.items() if s.capacity > 0}
    resident_prefs = {}
    for a in round_.applicants:
        prefs = [c for c in effective_preferences(a, round_) if c in open_codes]
        if prefs:
            resident_prefs[a.reference] = prefs
    people = {a.reference: a for a in round_.applicants}
    ranked = {c for prefs in resident_prefs.values() for c in prefs}
    hospital_prefs = {}
    for code in ranked:
        applied = [r for r, prefs in resident_prefs.items() if code in prefs]
        priority = {r: rule_priority(schools[code], people[r], round_) for r in applied}
        hospital_prefs[code] = sorted(applied, key=priority.__getitem__)
    expected: dict[str, list[str]] = {}
    if resident_prefs:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            game = HospitalResident.create_from_dictionaries(
                resident_prefs, hospital_prefs, {c: schools[c].capacity for c in ranked}
            )
            solution = game.solve(optimal="resident")
        expected = {h.name: sorted(r.name for r in rs) for h, rs in solution.items() if rs}
    mine: dict[str, list[str]] = {}
    for reference, placed_at in preference_results(run(round_)).items():
        if placed_at:
            mine.setdefault(placed_at, []).append(reference)
    assert {c: sorted(rs) for c, rs in mine.items()} == expected


@fast
@given(rounds(), st.randoms())
def test_a_freed_seat_only_moves_children_up_and_leaves_no_one_waiting_beside_it(
    round_: Round, rnd: random.Random
) -> None:
    state = initial_state(run(round_))
    holders = [ref for ref, school in state.school_of.items() if school]
    if not holders:
        return
    chain = decline(state, rnd.choice(holders))
    for move in chain.moves:
        prefs = state.preferences[move.reference]
        assert move.to_school in prefs
        if move.from_school in prefs:
            assert prefs.index(move.to_school) < prefs.index(move.from_school)
    after = chain.state
    counts = Counter(s for s in after.school_of.values() if s)
    assert counts == Counter({c: n for c, n in after.occupied.items() if n})
    for code, capacity in after.capacity.items():
        assert counts[code] <= capacity
        if counts[code] < capacity:
            assert current_waitlist(after, code) == ()


@settings(max_examples=25, deadline=None)
@given(rounds())
def test_every_export_verifies(round_: Round) -> None:
    report = verify_export("".join(export_csv(run(round_))).splitlines(keepends=True))
    assert report.ok
