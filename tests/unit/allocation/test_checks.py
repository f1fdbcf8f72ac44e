"""Self-checks: a broken result is refused loudly, and blocking pairs are counted right."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from services.allocation.engine import (
    Allocation,
    AllocationInvariantViolated,
    Policy,
    allocate,
    check_allocation,
    compile_instance,
    count_blocking_pairs,
    da_ranks_from_assignment,
)
from services.allocation.engine.model import BY_GUARANTEE, BY_PREFERENCE, CATCHMENT_FULL, UNPLACED
from tests.unit.allocation.builders import SEED, child, ids_by_lottery, school


def two_children_one_seat() -> Allocation:
    """BEST wins A's only seat; WORSE is left unplaced."""
    best, worse = ids_by_lottery(2)
    kids = [child("BEST", "W1", "A", citizen_id=best), child("WORSE", "W1", "A", citizen_id=worse)]
    return allocate([school("A", 1, "W1")], kids, SEED)


def arrays(**values: list[int]) -> dict[str, Any]:
    """Replacement result arrays for `dataclasses.replace`."""
    return {name: np.array(v, dtype=np.int64) for name, v in values.items()}


def test_a_correct_result_passes_its_checks() -> None:
    result = two_children_one_seat()
    check_allocation(result)
    assert result.school.tolist() == [0, -1]


def test_self_check_raises_on_a_school_over_capacity() -> None:
    result = two_children_one_seat()
    broken = replace(
        result, **arrays(da_rank=[0, 0], school=[0, 0], placed_by=[0, 0], reason=[0, 0])
    )
    with pytest.raises(AllocationInvariantViolated, match="over capacity: A"):
        check_allocation(broken)


def test_self_check_raises_on_an_unstable_result() -> None:
    result = two_children_one_seat()
    swapped = replace(
        result,
        **arrays(
            da_rank=[-1, 0],
            school=[-1, 0],
            placed_by=[UNPLACED, BY_PREFERENCE],
            reason=[CATCHMENT_FULL, 0],
        ),
    )
    with pytest.raises(AllocationInvariantViolated, match="1 blocking pairs"):
        check_allocation(swapped)


def test_self_check_raises_on_a_guarantee_outside_the_catchment() -> None:
    kids = [child("K", "W2", "A")]
    result = allocate([school("A", 0, "W1"), school("B", 1, "W3")], kids, SEED)
    assert result.reason.tolist() == [2]
    moved = replace(result, **arrays(school=[1], placed_by=[BY_GUARANTEE], reason=[0]))
    with pytest.raises(AllocationInvariantViolated, match="outside the applicant's catchment"):
        check_allocation(moved)


def test_self_check_raises_when_a_child_is_left_beside_a_free_catchment_seat() -> None:
    result = allocate([school("A", 1, "W1")], [child("K", "W1")], SEED)
    assert result.placed_by.tolist() == [BY_GUARANTEE]
    dropped = replace(result, **arrays(school=[-1], placed_by=[UNPLACED], reason=[CATCHMENT_FULL]))
    with pytest.raises(AllocationInvariantViolated, match="beside a free catchment seat"):
        check_allocation(dropped)


def test_counts_a_blocking_pair_when_a_worse_child_holds_the_seat() -> None:
    best, worse = ids_by_lottery(2)
    kids = [child("BEST", "W1", "A", citizen_id=best), child("WORSE", "W1", "A", citizen_id=worse)]
    instance = compile_instance([school("A", 1, "W1")], kids, Policy(), SEED)
    wrong = da_ranks_from_assignment(instance, {"BEST": None, "WORSE": "A"})
    right = da_ranks_from_assignment(instance, {"BEST": "A", "WORSE": None})
    assert count_blocking_pairs(instance, wrong) == 1
    assert count_blocking_pairs(instance, right) == 0


def test_counts_a_blocking_pair_when_a_school_keeps_a_seat_free() -> None:
    kids = [child("K1", "W1", "A", "B"), child("K2", "W1", "B")]
    schools = [school("A", 1, "W1"), school("B", 2, "W1")]
    instance = compile_instance(schools, kids, Policy(), SEED)
    both_at_b = da_ranks_from_assignment(instance, {"K1": "B", "K2": "B"})
    assert both_at_b.tolist() == [1, 0]
    assert count_blocking_pairs(instance, both_at_b) == 1  # K1 would rather have A's free seat
    nobody = da_ranks_from_assignment(instance, {})
    assert count_blocking_pairs(instance, nobody) == 3


def test_a_guarantee_placement_counts_as_unassigned_for_stability() -> None:
    kids = [child("K1", "W1", "A")]
    schools = [school("A", 1, "W2"), school("G", 1, "W1")]
    instance = compile_instance(schools, kids, Policy(), SEED)
    ranks = da_ranks_from_assignment(instance, {"K1": "G"})
    assert ranks.tolist() == [-1]
    assert count_blocking_pairs(instance, ranks) == 1  # A's free seat blocks
