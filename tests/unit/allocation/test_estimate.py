"""The chance-of-admission estimator: fresh seeds, reproducible with fixed ones, and within
its stated error of the exact chances worked out by enumerating every lottery order."""

from __future__ import annotations

import hashlib
from itertools import permutations

import numpy as np
import pytest

from services.allocation import chances
from services.allocation.engine import Policy, allocate_instance, compile_instance
from services.allocation.engine.estimate import (
    SEED_BYTES,
    RoundSeedUsed,
    Z,
    estimate,
    fresh_seeds,
    margin,
    redraw,
    reorder,
    standard_error,
)
from services.allocation.engine.model import BY_GUARANTEE, BY_PREFERENCE, UNPLACED
from tests.unit.allocation.builders import SEED, child, school

# Six children, schools of one seat and a three-seat one: who gets what depends on the
# lottery, in-catchment tiers beat outsiders, one child has a priority category.
SCHOOLS = [
    school("A", 1, "W1"),
    school("B", 1, "W1"),
    school("C", 3, "W2"),
    school("D", 0),
    school("E", 1, "W1"),  # nobody lists it: a seat for the catchment guarantee
]
CHILDREN = [
    child("R1", "W1", "A", "B"),
    child("R2", "W1", "A", "C"),
    child("R3", "W1", "B", "A", "C"),
    child("R4", "W2", "A", "C"),
    child("R5", "W2", "C", "A", category="disability"),
    child("R6", "W3", "A", "B", "C"),
]
POLICY = Policy(max_preferences=3)


def seeds(count: int, label: str = "test") -> list[bytes]:
    return [hashlib.sha256(f"{label}-{i}".encode()).digest() for i in range(count)]


def test_fresh_seeds_are_random_and_never_the_round_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn = fresh_seeds(50)
    assert len(set(drawn)) == 50 and all(len(s) == SEED_BYTES for s in drawn)
    assert SEED not in drawn
    # The estimate draws with exactly the seeds given; the round's own seed is refused.
    used: list[bytes] = []
    original = redraw

    def spy(instance, seed):  # type: ignore[no-untyped-def]
        used.append(seed)
        return original(instance, seed)

    monkeypatch.setattr("services.allocation.engine.estimate.redraw", spy)
    estimate(SCHOOLS, CHILDREN, POLICY, drawn, round_seed=SEED)
    assert used == drawn[1:]  # the first draw is compiled with drawn[0]
    with pytest.raises(RoundSeedUsed):
        estimate(SCHOOLS, CHILDREN, POLICY, [*fresh_seeds(3), SEED], round_seed=SEED)


def test_a_redraw_is_the_instance_the_engine_compiles_with_that_seed() -> None:
    base = compile_instance(SCHOOLS, CHILDREN, POLICY, b"first")
    again = redraw(base, b"second")
    direct = compile_instance(SCHOOLS, CHILDREN, POLICY, b"second")
    for name in ("keys", "lottery", "lottery_rank", "by_rank"):
        assert np.array_equal(getattr(again, name), getattr(direct, name)), name


def test_fixed_seeds_reproduce_the_figures() -> None:
    one = estimate(SCHOOLS, CHILDREN, POLICY, seeds(40))
    two = estimate(SCHOOLS, CHILDREN, POLICY, seeds(40))
    other = estimate(SCHOOLS, CHILDREN, POLICY, seeds(40, "other"))
    for name in ("choice", "guarantee", "unplaced", "admitted", "reached", "free"):
        assert np.array_equal(getattr(one, name), getattr(two, name)), name
    assert not np.array_equal(one.choice, other.choice)


def exact_chances() -> dict[str, np.ndarray]:
    """Every lottery order of the six children is equally likely: average over all 720."""
    base = compile_instance(SCHOOLS, CHILDREN, POLICY, SEED)
    n, width = base.pref.shape
    choice, guarantee, unplaced = np.zeros((n, width)), np.zeros(n), np.zeros(n)
    orders = list(permutations(range(n)))
    for order in orders:
        lot = np.array(
            [order.index(a) for a in range(n)], dtype=np.uint64
        )  # rank as lottery number
        allocation = allocate_instance(reorder(base, np.array(order), lot, SEED))
        for a in range(n):
            by = int(allocation.placed_by[a])
            if by == BY_PREFERENCE:
                choice[a, int(allocation.da_rank[a])] += 1
            guarantee[a] += by == BY_GUARANTEE
            unplaced[a] += by == UNPLACED
    total = len(orders)
    return {"choice": choice / total, "guarantee": guarantee / total, "unplaced": unplaced / total}


def test_estimates_fall_within_the_stated_error_of_the_exact_chances() -> None:
    draws = 3000
    exact = exact_chances()
    tally = estimate(SCHOOLS, CHILDREN, POLICY, seeds(draws))
    assert tally.draws == draws
    checked = 0
    for name in ("choice", "guarantee", "unplaced"):
        truth = exact[name].ravel()
        found = getattr(tally, name).ravel() / draws
        for p, q in zip(truth, found, strict=True):
            bound = Z * standard_error(float(p), draws)
            assert abs(q - p) <= bound + 1e-12, (name, p, q, bound)
            assert abs(q - p) <= margin(draws)
            checked += 1
    # The instance is not trivial: several outcomes are genuinely uncertain.
    uncertain = [p for name in exact for p in exact[name].ravel() if 0.05 < p < 0.95]
    assert len(uncertain) >= 8
    assert checked == 6 * 3 + 6 + 6
    # Every child's shares add up to one in each draw.
    total = tally.choice.sum(axis=1) + tally.guarantee + tally.unplaced
    assert (total == draws).all()


def test_school_tiers_count_applicants_and_admissions() -> None:
    tally = estimate(SCHOOLS, CHILDREN, POLICY, seeds(200))
    a = tally.schools.index("A")
    # A (serves W1): R1, R2, R3 in catchment (tier 2), R4, R6 outside (tier 3), R5 tier 3.
    assert tally.applicants[a].tolist() == [0, 0, 3, 3, 0, 0]
    assert tally.first_choice[a].tolist() == [0, 0, 2, 2, 0, 0]
    # A's single seat goes to someone in catchment in every draw; never to an outsider.
    assert tally.admitted[a, 2] == 200 and tally.reached[a, 2] == 200
    assert tally.admitted[a, 3] == 0


def test_k_anonymity_suppresses_small_counts_and_the_one_giving_it_away() -> None:
    assert chances.suppress([25, 12, 3]) == [25, None, None]
    assert chances.suppress([25, 0, 3]) == [None, 0, None]
    assert chances.suppress([25, 14, 0]) == [25, 14, 0]
    assert chances.suppress([4, 3, 2]) == [None, None, None]
    row = chances.demand_row("A", 10, {"priority": 2, "catchment": 30, "outside": 11}, 20)
    assert row["applications"] == 43 and row["per_seat"] == 4.3
    assert row["by_tier"] == {"priority": None, "catchment": 30, "outside": None}
    small = chances.demand_row("B", 10, {"catchment": 6}, 6)
    assert small["applications"] is None and small["first_choice"] is None


def test_own_chances_and_suggestions() -> None:
    figures = chances.own_chances(["A", "B"], [40, 10, 0], 20, 30, 100)
    assert [c["chance"] for c in figures["choices"]] == [0.4, 0.1]
    assert figures["some_choice"] == 0.5 and figures["no_place"] == 0.3
    assert figures["outside_list"] == 0.5 and figures["margin"] == round(margin(100), 3)
    assert figures["high_risk"]
    sure = chances.own_chances(["A", "B"], [70, 15, 0], 15, 0, 100)
    assert sure["outside_list"] == 0.15 and not sure["high_risk"]
    rooms = chances.suggest(["A"], ["A", "C", "E", "F"], {"A": 50, "C": 300, "E": 0}, 100)
    assert rooms == [{"school_code": "C", "free_seats": 3.0}]


def test_high_risk_is_decided_on_the_shown_figure_at_the_boundary() -> None:
    from services.allocation.chances import HIGH_RISK, own_chances

    # 48 of 60 draws on the list: 20 % outside it, exactly the threshold, which 1 - 0.8 in
    # floating point (0.19999999999999996) would miss.
    figures = own_chances(["A"], [48], guarantee=12, unplaced=0, draws=60)

    assert figures["outside_list"] == HIGH_RISK
    assert figures["high_risk"] is True
