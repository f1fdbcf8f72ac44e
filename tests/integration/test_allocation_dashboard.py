"""The department's dashboard of a round, read from what the preview stored (the allocation
service in a real nameko container on the real broker and PostgreSQL): each school's demand
and seats, searched, filtered by ward, sorted and paged; demand's spread; each ward."""

from __future__ import annotations

import pytest

from services.allocation.exceptions import InvalidTransition
from tests.support.allocation_harness import (
    ROUND,
    Harness,
    ladder,
    open_round,
)

pytestmark = pytest.mark.integration


def test_each_school_s_demand_is_stored_with_the_preview_and_paged(harness: Harness) -> None:  # noqa: F811
    ladder(harness)  # A and B, one seat each: P and Q rank A first, R ranks B only

    page = harness.call("round_schools", ROUND)
    assert page["total"] == 2
    assert [s["code"] for s in page["schools"]] == ["SCH-A", "SCH-B"]  # most demand first
    a, b = page["schools"]
    assert (a["first_choices"], a["ranked"], a["capacity"], a["occupied"]) == (2, 2, 1, 1)
    assert (b["first_choices"], b["ranked"], b["demand"], b["fill"]) == (1, 2, 1.0, 1.0)
    assert (a["ward_code"], a["ward_name"]) == ("00001", "Phường 00001")

    least = harness.call("round_schools", ROUND, sort="demand", limit=1)
    assert (least["total"], [s["code"] for s in least["schools"]]) == (2, ["SCH-B"])
    later = harness.call("round_schools", ROUND, offset=1, limit=1)
    assert [s["code"] for s in later["schools"]] == ["SCH-B"]
    found = harness.call("round_schools", ROUND, query="  sch-B ")
    assert [s["code"] for s in found["schools"]] == ["SCH-B"]
    assert harness.call("round_schools", ROUND, query="50%")["total"] == 0  # % is a letter
    in_ward = harness.call("round_schools", ROUND, ward="00002")
    assert [s["code"] for s in in_ward["schools"]] == ["SCH-B"]


def test_the_overview_spreads_demand_and_counts_each_ward(harness: Harness) -> None:  # noqa: F811
    ladder(harness)

    overview = harness.call("round_overview", ROUND)
    spread = {bucket["bucket"]: bucket["schools"] for bucket in overview["demand_histogram"]}
    # first choices per seat: A 2.0 (bucket 2–3, the fifth), B 1.0 (1–1.5, the third)
    assert spread == {0: 0, 1: 0, 2: 1, 3: 0, 4: 1, 5: 0}
    assert [s["code"] for s in overview["most_demand"]] == ["SCH-A", "SCH-B"]
    assert [s["code"] for s in overview["least_demand"]] == ["SCH-B", "SCH-A"]
    wards = {ward["code"]: ward for ward in overview["wards"]}
    assert wards["00001"] == {
        "code": "00001",
        "name": "Phường 00001",
        "schools": 1,
        "capacity": 1,
        "occupied": 1,
        "first_choices": 2,
        "applicants": 1,
        "unplaced": 0,
    }
    # R lives where no school stands, and has no seat.
    assert (wards["00009"]["schools"], wards["00009"]["applicants"]) == (0, 1)
    assert wards["00009"]["unplaced"] == 1


def test_a_round_without_a_preview_has_no_dashboard(harness: Harness) -> None:  # noqa: F811
    open_round(harness)
    with pytest.raises(InvalidTransition):
        harness.call("round_overview", ROUND)
    with pytest.raises(InvalidTransition):
        harness.call("round_schools", ROUND)
