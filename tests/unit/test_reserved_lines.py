"""The department's reserved-seat lines, as typed or pasted from a spreadsheet."""

from __future__ import annotations

from gateway.portal.views.round_inputs import parse_lines


def test_each_line_is_a_school_a_category_and_seats() -> None:
    rows, bad = parse_lines("th-0001, khuyet_tat, 2\n\nTH-0002,ho_ngheo,0\n")
    assert bad is None
    assert rows == [
        {"school_code": "TH-0001", "category": "khuyet_tat", "seats": 2},
        {"school_code": "TH-0002", "category": "ho_ngheo", "seats": 0},
    ]


def test_the_first_line_that_is_not_three_cells_with_a_count_is_named() -> None:
    assert parse_lines("TH-0001,khuyet_tat,2\nTH-0002;khuyet_tat;1") == ([], 2)
    assert parse_lines("TH-0001,khuyet_tat,two") == ([], 1)
    assert parse_lines("TH-0001,khuyet_tat,-1") == ([], 1)
