"""The figures behind the department's charts, computed before any SVG is drawn."""

from __future__ import annotations

from gateway.portal.charts import per_hour, unplaced_by_ward


def test_the_busiest_hour_is_the_tallest_column_and_quiet_hours_stay_empty() -> None:
    hours = [["2027-06-01T01:00:00+00:00", 40], ["2027-06-01T02:00:00+00:00", 0], ["x", 10]]

    chart = per_hour(hours)

    assert chart is not None
    assert [c["height"] for c in chart["columns"]] == [1.0, 0.0, 0.25]
    assert chart["peak"]["hour"] == "2027-06-01T01:00:00+00:00"
    assert chart["total"] == 50


def test_a_round_without_applications_has_no_hour_chart() -> None:
    assert per_hour([]) is None


def test_unplaced_children_are_shown_by_ward_name_most_first() -> None:
    statistics = {"unplaced_by_ward": {"00004": 2, "00001": 5, "99999": 2}}

    rows = unplaced_by_ward(statistics, {"00001": "Phường Hoàn Kiếm", "00004": "Phường Ba Đình"})

    assert [(r["label"], r["value"]) for r in rows] == [
        ("Phường Hoàn Kiếm", 5.0),
        ("Phường Ba Đình", 2.0),
        ("99999", 2.0),  # a code without a name still shows, as its code
    ]
    assert rows[0]["width"] == 1.0
