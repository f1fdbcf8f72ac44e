"""The rules a list of preferred schools follows, shared by the gateway's door and verification."""

from __future__ import annotations

from shared.preferences import Problem, preference_problems

SCHOOLS = {"TH-0001": "grade_1", "TH-0002": "grade_1", "THCS-0001": "grade_6"}


def test_a_good_list_has_no_problem() -> None:
    assert preference_problems(["TH-0002", "TH-0001"], "grade_1", 3, SCHOOLS) == []


def test_each_unknown_or_wrong_level_school_is_named_by_its_position_from_one() -> None:
    problems = preference_problems(["TH-0001", "TH-9999", "THCS-0001"], "grade_1", 3, SCHOOLS)
    assert problems == [Problem("unknown_school", 2), Problem("wrong_level", 3)]


def test_the_list_itself_can_be_empty_too_long_or_repeat_a_school() -> None:
    assert preference_problems([], "grade_1", 3, SCHOOLS) == [Problem("empty")]
    too_many = preference_problems(["TH-0001", "TH-0002", "TH-0001"], "grade_1", 2, SCHOOLS)
    assert too_many == [Problem("too_many"), Problem("duplicate")]
