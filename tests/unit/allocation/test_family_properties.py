"""Properties of the exceptions: shared sibling lottery, twins together, reserved seats and
late applications, each checked against the rule written out in plain Python."""

from __future__ import annotations

import dataclasses
from collections import Counter

from hypothesis import HealthCheck, given, settings

from services.allocation.engine import (
    Allocation,
    Applicant,
    School,
    allocate,
    count_blocking_pairs,
    deferred_acceptance,
)
from services.allocation.engine.explain import placements
from services.allocation.engine.export import export_csv, verify_export
from tests.unit.allocation.strategies import (
    Round,
    effective_preferences,
    linked_siblings,
    rounds,
    rule_priority,
    schools_by_code,
)

fast = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run(round_: Round) -> Allocation:
    return allocate(round_.schools, round_.applicants, round_.seed, round_.policy)


def by_preference(result: Allocation) -> dict[str, str | None]:
    return {
        p.reference: p.school if p.placed_by == "preference" else None for p in placements(result)
    }


def better_than_result(applicant: Applicant, round_: Round, placed: str | None) -> list[str]:
    """The schools the applicant ranked above the one deferred acceptance placed them at."""
    prefs = effective_preferences(applicant, round_)
    return prefs[: prefs.index(placed)] if placed else prefs


def twin_schools(result: Allocation, applicant: Applicant) -> set[str]:
    """The schools where the engine prefers the applicant as a twin (final priorities)."""
    inst = result.instance
    if inst.twin is None:
        return set()
    a = inst.applicant_index[applicant.reference]
    return {
        inst.schools[int(s)].code
        for r, s in enumerate(inst.pref[a].tolist())
        if s >= 0 and bool(inst.twin[a, r])
    }


def assert_no_blocking_pair(round_: Round, result: Allocation) -> None:
    """Nobody prefers a school that has a free seat, or holds someone of lower priority
    (priorities as the rules state them, twin claims included), within each pass."""
    schools = schools_by_code(round_.schools)
    placed = by_preference(result)
    for late in (False, True):
        group = [a for a in round_.applicants if a.late == late]
        seats = {code: s.capacity for code, s in schools.items()}
        if late:  # the late pass has the seats the on-time pass left
            taken = Counter(
                p.school
                for a, p in zip(round_.applicants, placements(result), strict=True)
                if not a.late and p.school
            )
            seats = {code: n - taken[code] for code, n in seats.items()}
        twin = {a.reference: twin_schools(result, a) for a in group}
        held: dict[str, list[tuple[int, int, int, int]]] = {code: [] for code in schools}
        for a in group:
            code = placed[a.reference]
            if code is not None:
                held[code].append(
                    rule_priority(schools[code], a, round_, code in twin[a.reference])
                )
        for a in group:
            for code in better_than_result(a, round_, placed[a.reference]):
                mine = rule_priority(schools[code], a, round_, code in twin[a.reference])
                assert len(held[code]) >= seats[code], f"{a.reference} fits {code}"
                assert all(mine > other for other in held[code]), f"{a.reference} at {code}"


@fast
@given(rounds(families=True))
def test_shared_lottery_and_twins_leave_no_blocking_pair_under_the_final_priorities(
    round_: Round,
) -> None:
    result = run(round_)
    assert count_blocking_pairs(result.instance, result.da_rank) == 0
    assert_no_blocking_pair(round_, result)
    # The result is deferred acceptance itself under the final priorities: a fixed point.
    assert deferred_acceptance(result.instance).tolist() == result.da_rank.tolist()


@fast
@given(rounds(families=True))
def test_linked_siblings_draw_together_and_their_own_numbers_order_them(round_: Round) -> None:
    result = run(round_)
    inst = result.instance
    order = [inst.applicants[a] for a in inst.by_rank.tolist()]
    keys = [rule_priority(round_.schools[0], a, round_)[2:] for a in order]
    assert keys == sorted(keys)  # (draw number, own number) ascending, all distinct
    assert len(set(keys)) == len(keys)
    if round_.policy.shared_sibling_lottery:
        for a in round_.applicants:
            siblings = linked_siblings(a, round_)
            if len(siblings) > 1:  # siblings share one number and sit together in the draw
                at = sorted(inst.lottery_rank[inst.applicant_index[s.reference]] for s in siblings)
                assert at == list(range(at[0], at[0] + len(at)))


@fast
@given(rounds(max_schools=3, families=True))
def test_a_twin_is_preferred_wherever_a_sibling_was_placed_above_their_result(
    round_: Round,
) -> None:
    # Few schools, so siblings compete for the same seats and the rule has work to do.
    policy = dataclasses.replace(round_.policy, twins_together=True)
    round_ = dataclasses.replace(round_, policy=policy)
    result = run(round_)
    placed = by_preference(result)
    for a in round_.applicants:
        claimed = twin_schools(result, a)
        siblings = linked_siblings(a, round_)
        assert claimed <= set(effective_preferences(a, round_))
        if len(siblings) < 2:
            assert claimed == set()
        others = {placed[s.reference] for s in siblings if s is not a}
        for code in better_than_result(a, round_, placed[a.reference]):
            if code in others:
                assert code in claimed
    assert_no_blocking_pair(round_, result)
    assert deferred_acceptance(result.instance).tolist() == result.da_rank.tolist()


@fast
@given(rounds(families=True))
def test_without_the_twins_option_nobody_is_preferred_as_a_twin(round_: Round) -> None:
    policy = dataclasses.replace(round_.policy, twins_together=False)
    result = run(dataclasses.replace(round_, policy=policy))
    assert result.instance.twin is None


def chooses(school: School, held: list[Applicant], newcomer: Applicant, round_: Round) -> bool:
    """Whether the school, holding `held`, would choose `newcomer` too (the reserve rule:
    the best eligible children up to the reserve first, then the best of the rest)."""
    everyone = sorted([*held, newcomer], key=lambda a: rule_priority(school, a, round_))
    if len(everyone) <= school.capacity:
        return True
    eligible = [a for a in everyone if a.priority_category == school.reserved_for]
    reserved = eligible[: school.reserved] if school.reserved else []
    rest = [a for a in everyone if a not in reserved][: school.capacity - len(reserved)]
    return newcomer in reserved or newcomer in rest


@fast
@given(rounds(reserves=True))
def test_reserved_seats_never_exceed_the_reservation_and_unused_ones_are_refilled(
    round_: Round,
) -> None:
    result = run(round_)
    schools = schools_by_code(round_.schools)
    people = {a.reference: a for a in round_.applicants}
    pools = list(placements(result))
    reserved = Counter(p.school for p in pools if p.pool == "reserved")
    filled = Counter(p.school for p in pools if p.school)
    placed = by_preference(result)
    held: dict[str, list[Applicant]] = {code: [] for code in schools}
    for p in pools:
        if p.placed_by == "preference" and p.school:
            held[p.school].append(people[p.reference])
        if p.pool == "reserved":
            assert people[p.reference].priority_category == schools[p.school or ""].reserved_for
        assert (p.pool is None) == (p.school is None)
    for code, school in schools.items():
        assert reserved[code] <= school.reserved
    for a in round_.applicants:
        for code in better_than_result(a, round_, placed[a.reference]):
            # Turned away: the school is full to every seat, unused reserved seats included,
            # and its choice (reserve first, then the rest) would not take the child.
            assert filled[code] == schools[code].capacity
            assert not chooses(schools[code], held[code], a, round_)


@fast
@given(rounds(late=True, reserves=True, families=True))
def test_late_applications_never_displace_an_on_time_one(round_: Round) -> None:
    result = run(round_)
    on_time = [a for a in round_.applicants if not a.late]
    alone = run(dataclasses.replace(round_, applicants=tuple(on_time)))
    mine = {p.reference: p for p in placements(result)}
    assert [mine[a.reference] for a in on_time] == list(placements(alone))
    if not any(s.reserved for s in round_.schools):  # reserves have their own choice rule
        assert_no_blocking_pair(round_, result)


@settings(max_examples=40, deadline=None)
@given(rounds(families=True, reserves=True, late=True))
def test_every_export_with_the_exceptions_verifies(round_: Round) -> None:
    report = verify_export("".join(export_csv(run(round_))).splitlines(keepends=True))
    assert report.ok
