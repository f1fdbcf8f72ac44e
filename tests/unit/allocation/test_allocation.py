"""The allocation rules on small rounds whose outcome can be worked out by hand."""

from __future__ import annotations

import pytest

from services.allocation.engine import Allocation, Placement, Policy, allocate
from services.allocation.engine.explain import (
    cutoff_table,
    explain,
    placement,
    statistics,
)
from services.allocation.engine.priority import haversine_m
from services.allocation.engine.waitlists import waitlist, waitlist_position
from tests.unit.allocation.builders import SEED, child, hmac_lottery, ids_by_lottery, school


def test_prefers_in_catchment_child_over_lottery() -> None:
    best, worse = ids_by_lottery(2)
    schools = [school("A", 1, "W1")]
    outsider = child("OUT", "W2", "A", citizen_id=best)
    resident = child("RES", "W1", "A", citizen_id=worse)
    result = allocate(schools, [outsider, resident], SEED)
    assert placement(result, "RES") == Placement("RES", "A", "preference", rank=1, pool="general")
    assert placement(result, "OUT").school is None


def test_category_beats_plain_catchment() -> None:
    best, worse = ids_by_lottery(2)
    plain = child("PLAIN", "W1", "A", citizen_id=best)
    policy_child = child("CAT", "W1", "A", citizen_id=worse, category="disability")
    result = allocate([school("A", 1, "W1"), school("B", 5, "W1")], [plain, policy_child], SEED)
    assert placement(result, "CAT").school == "A"
    assert placement(result, "PLAIN") == Placement("PLAIN", "B", "guarantee", pool="general")


def test_lottery_decides_within_a_tier_and_is_reproducible_from_seed_and_citizen_id() -> None:
    ids = [f"0019{i:08d}" for i in range(6)]
    children = [child(f"C{i}", "W1", "A", citizen_id=cid) for i, cid in enumerate(ids)]
    for seed in (SEED, b"another published seed"):
        result = allocate([school("A", 2, "W1")], children, seed)
        expected = sorted(ids, key=lambda cid: hmac_lottery(seed, cid))[:2]
        admitted = [c.citizen_id for c in children if placement(result, c.reference).school]
        assert sorted(admitted) == sorted(expected)
        assert explain(result, "C3").lottery == hmac_lottery(seed, ids[3])


def test_same_seed_gives_the_same_result_and_another_seed_may_not() -> None:
    children = [child(f"C{i}", "W1", "A") for i in range(8)]

    def winner(seed: bytes) -> str:
        result = allocate([school("A", 1, "W1")], children, seed)
        return next(c.reference for c in children if placement(result, c.reference).school)

    assert winner(b"s1") == winner(b"s1")
    assert len({winner(seed) for seed in (b"s1", b"s2", b"s3", b"s4", b"s5")}) > 1


def test_guarantee_places_into_a_free_catchment_seat_only() -> None:
    best, second, worst = ids_by_lottery(3)
    schools = [
        school("A", 1, "W1"),
        school("D", 2, "W1"),
        school("E", 3, "W1"),
        school("F", 3, "W1"),
        school("FAR", 10, "W2"),
    ]
    keeper = child("KEEP", "W1", "A", citizen_id=best)
    d_child = child("DKID", "W1", "D", citizen_id=second)
    loser = child("LOSE", "W1", "A", citizen_id=worst)
    result = allocate(schools, [keeper, d_child, loser], SEED)
    assert placement(result, "KEEP").school == "A"
    assert placement(result, "DKID") == Placement("DKID", "D", "preference", rank=1, pool="general")
    # E and F have the most free seats (3); the tie goes to the smaller code.
    assert placement(result, "LOSE") == Placement("LOSE", "E", "guarantee", pool="general")


def test_guarantee_serves_category_children_first_then_by_lottery() -> None:
    first, second, third, fourth, fifth = ids_by_lottery(5)
    schools = [school("FULL", 1, "W1", "W2"), school("SPARE", 1, "W1"), school("SPARE2", 1, "W2")]
    kids = [
        child("HOLDER", "W1", "FULL", category="x", citizen_id=first),
        child("PLAIN", "W1", "FULL", citizen_id=second),
        child("CAT", "W1", "FULL", category="x", citizen_id=third),
        child("EARLY", "W2", "FULL", citizen_id=fourth),
        child("LATE", "W2", "FULL", citizen_id=fifth),
    ]
    result = allocate(schools, kids, SEED)
    assert placement(result, "HOLDER").school == "FULL"
    assert placement(result, "CAT") == Placement("CAT", "SPARE", "guarantee", pool="general")
    assert placement(result, "PLAIN").reason == "catchment_full"
    assert placement(result, "EARLY") == Placement("EARLY", "SPARE2", "guarantee", pool="general")
    assert placement(result, "LATE").reason == "catchment_full"


def test_guarantee_never_displaces_a_child_placed_by_preference() -> None:
    best, worse = ids_by_lottery(2)
    placed = child("PLACED", "W2", "A", citizen_id=best)  # an outsider holds A's only seat
    resident = child("RES", "W1", "B", citizen_id=worse)
    schools = [school("A", 1, "W1"), school("B", 1, "W3"), school("C", 0, "W1")]
    blocker = child("BLOCK", "W3", "B", category="policy")
    result = allocate(schools, [placed, resident, blocker], SEED)
    assert placement(result, "PLACED").school == "A"
    assert placement(result, "RES") == Placement("RES", None, "unplaced", reason="catchment_full")


def test_unplaced_children_carry_the_reason() -> None:
    schools = [school("A", 1, "W1")]
    holder = child("HOLD", "W1", "A", category="policy")
    full = child("FULL", "W1", "A")
    nowhere = child("NOWHERE", "W9", "A")
    no_preferences = child("NONE", "W8")
    result = allocate(schools, [holder, full, nowhere, no_preferences], SEED)
    assert placement(result, "FULL").reason == "catchment_full"
    assert placement(result, "NOWHERE").reason == "no_catchment_school"
    assert placement(result, "NONE") == Placement(
        "NONE", None, "unplaced", reason="no_catchment_school"
    )


def test_waitlist_holds_everyone_who_ranked_the_school_above_their_result_in_priority_order() -> (
    None
):
    first, second, third, fourth = ids_by_lottery(4)
    schools = [school("A", 1, "W1"), school("B", 5, "W1", "W2")]
    children = [
        child("HOLDER", "W1", "A", "B", category="policy", citizen_id=fourth),
        child("OUTSIDER", "W2", "A", "B", citizen_id=first),
        child("LATE", "W1", "A", "B", citizen_id=third),
        child("EARLY", "W1", "A", "B", citizen_id=second),
        child("HAPPY", "W1", "B", "A"),  # placed at B, ranked A below it: not waiting
    ]
    result = allocate(schools, children, SEED)
    assert waitlist(result, "A") == ("EARLY", "LATE", "OUTSIDER")
    assert waitlist(result, "B") == ()
    assert waitlist_position(result, "OUTSIDER", "A") == 3
    assert waitlist_position(result, "HAPPY", "A") is None
    assert explain(result, "LATE").preferences[0].waitlist_position == 2


def test_waitlist_includes_guaranteed_and_unplaced_children_at_every_school_they_ranked() -> None:
    schools = [school("A", 1, "W1"), school("B", 1, "W1"), school("G", 4, "W1")]
    children = [
        child("A1", "W1", "A", category="policy"),
        child("B1", "W1", "B", category="policy"),
        child("GUAR", "W1", "A", "B"),
        child("GONE", "W7", "B"),
    ]
    result = allocate(schools, children, SEED)
    assert placement(result, "GUAR") == Placement("GUAR", "G", "guarantee", pool="general")
    assert waitlist(result, "A") == ("GUAR",)
    assert waitlist(result, "B") == ("GUAR", "GONE")  # tier 2 before tier 3


def test_cutoff_is_the_priority_of_the_last_admitted_and_none_while_a_seat_is_free() -> None:
    ids = ids_by_lottery(4)
    schools = [school("A", 2, "W1"), school("B", 3, "W1")]
    children = [child(f"A{i}", "W1", "A", "B", citizen_id=cid) for i, cid in enumerate(ids[:3])]
    result = allocate(schools, [*children, child("CAT", "W2", "A", category="x")], SEED)
    cutoffs = cutoff_table(result)
    # CAT is outside A's catchment (tier 3): A admits A0 and A1, the last of them is A1.
    assert cutoffs["A"] is not None
    assert (cutoffs["A"].tier, cutoffs["A"].lottery) == (2, hmac_lottery(SEED, ids[1]))
    assert cutoffs["B"] is None
    assert explain(result, "A2").preferences[0].cutoff == cutoffs["A"]


def test_explanation_tells_what_happened_at_each_preference() -> None:
    best, worse = ids_by_lottery(2)
    schools = [school("A", 1, "W1"), school("B", 1, "W1"), school("C", 1, "W1")]
    children = [
        child("TOP", "W1", "A", citizen_id=best),
        child("ME", "W1", "A", "NOPE", "B", "C", citizen_id=worse),
    ]
    result = allocate(schools, children, SEED, Policy(max_preferences=4))
    story = explain(result, "ME")
    assert [(p.rank, p.school, p.outcome) for p in story.preferences] == [
        (1, "A", "rejected"),
        (2, "NOPE", "ignored"),
        (3, "B", "admitted"),
        (4, "C", "not_reached"),
    ]
    assert story.preferences[0].priority is not None
    assert story.preferences[0].priority.tier == 2
    assert story.preferences[0].priority.lottery == hmac_lottery(SEED, worse)
    assert story.preferences[0].priority.distance_m is None
    assert story.placement == Placement("ME", "B", "preference", rank=3, pool="general")


def test_repeated_schools_and_preferences_beyond_the_maximum_are_ignored() -> None:
    schools = [school(code, 1, "W5") for code in "ABCD"]
    children = [
        child("FULL", "W5", "A", "B", "C", category="x"),
        child("ME", "W1", "A", "A", "B", "C"),
    ]
    result = allocate(schools, children, SEED, Policy(max_preferences=3))
    outcomes = [p.outcome for p in explain(result, "ME").preferences]
    assert outcomes == ["rejected", "ignored", "admitted", "ignored"]


def first_tier(result: Allocation, reference: str) -> int:
    """The applicant's tier at their first preference."""
    priority = explain(result, reference).preferences[0].priority
    assert priority is not None
    return priority.tier


def test_sibling_priority_ranks_siblings_after_catchment_category() -> None:
    best, second, third, fourth = ids_by_lottery(4)
    schools = [school("A", 1, "W1"), school("B", 1, "W3"), school("R", 9, "W1", "W2")]
    kids = [
        child("PLAIN", "W1", "A", "R", citizen_id=best),
        child("SIB", "W1", "A", "R", citizen_id=fourth, siblings=["A"]),
        child("FARPLAIN", "W2", "B", "R", citizen_id=second),
        child("FARSIB", "W2", "B", "R", citizen_id=third, siblings=["B"]),
    ]

    on = allocate(schools, kids, SEED, Policy(sibling_priority=True))
    assert placement(on, "SIB").school == "A"
    assert placement(on, "FARSIB").school == "B"
    assert [first_tier(on, r) for r in ("SIB", "PLAIN", "FARSIB", "FARPLAIN")] == [2, 3, 4, 5]

    off = allocate(schools, kids, SEED)
    assert placement(off, "PLAIN").school == "A"
    assert placement(off, "FARPLAIN").school == "B"
    assert [first_tier(off, r) for r in ("SIB", "PLAIN", "FARSIB", "FARPLAIN")] == [2, 2, 3, 3]


def test_distance_breaks_ties_before_the_lottery_and_unknown_distance_sorts_last() -> None:
    best, middle, worst = ids_by_lottery(3)
    a_at = (21.0, 105.8)
    schools = [school("A", 1, "W1", at=a_at), school("B", 1, "W1", at=a_at)]
    kids = [
        child("NEAR", "W1", "A", "B", citizen_id=worst, at=(21.001, 105.8)),
        child("FAR", "W1", "A", "B", citizen_id=middle, at=(21.05, 105.8)),
        child("UNKNOWN", "W1", "A", "B", citizen_id=best),
    ]

    result = allocate(schools, kids, SEED, Policy(distance_tiebreak=True))
    assert [placement(result, k.reference).school for k in kids] == ["A", "B", None]
    far = explain(result, "FAR").preferences[0].priority
    unknown = explain(result, "UNKNOWN").preferences[0].priority
    assert far is not None and unknown is not None
    assert far.distance_m == haversine_m(21.05, 105.8, *a_at) == 5_560
    assert unknown.distance_m is None

    lottery_only = allocate(schools, kids, SEED)
    assert [placement(lottery_only, k.reference).school for k in kids] == [None, "B", "A"]


def test_statistics_summarise_the_preview() -> None:
    schools = [school("A", 2, "W1"), school("B", 2, "W1"), school("C", 1, "W3")]
    children = [
        child("K1", "W1", "A", category="x"),
        child("K2", "W1", "A", category="x"),
        child("K3", "W1", "A", "B"),
        child("K4", "W1", "A"),
        child("K5", "W2", "C"),
        child("K6", "W2", "C"),
    ]
    stats = statistics(allocate(schools, children, SEED))
    assert stats.applicants == 6
    assert (stats.by_preference, stats.by_guarantee, stats.unplaced) == (4, 1, 1)
    assert stats.first_choice_share == 3 / 6
    assert stats.top3_share == 4 / 6
    assert stats.unplaced_by_reason == {"catchment_full": 0, "no_catchment_school": 1}
    assert stats.fill_rate == {"A": 1.0, "B": 1.0, "C": 1.0}
    assert stats.unplaced_by_ward == {"W2": 1}


def test_an_empty_round_or_a_round_without_schools_still_allocates() -> None:
    nobody = allocate([school("A", 1, "W1")], [], SEED)
    assert statistics(nobody).applicants == 0
    assert cutoff_table(nobody) == {"A": None}
    no_schools = allocate([], [child("K", "W1", "A")], SEED)
    assert placement(no_schools, "K") == Placement(
        "K", None, "unplaced", reason="no_catchment_school"
    )


def test_a_child_or_a_reference_entered_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="appears twice"):
        allocate([], [child("R1", "W1", citizen_id="1"), child("R2", "W1", citizen_id="1")], SEED)
    with pytest.raises(ValueError, match="references must be unique"):
        allocate([], [child("R1", "W1"), child("R1", "W2", citizen_id="2")], SEED)
    with pytest.raises(ValueError, match="school codes must be unique"):
        allocate([school("A", 1), school("A", 2)], [], SEED)
