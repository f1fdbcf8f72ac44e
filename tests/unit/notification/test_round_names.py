"""Rounds by the names parents use, in notices and on the portal, read back from their ids."""

from __future__ import annotations

import pytest
from flask import Flask, g

from gateway.portal import labels
from services.notification.rendering.round_names import round_name
from shared.contracts.rounds import parse_round_id, round_id_for


@pytest.mark.parametrize(
    ("args", "vi", "en"),
    [
        ((2027, "grade_1"), "Lớp 1 năm học 2027–2028", "Grade 1, school year 2027–2028"),
        (
            (2027, "kindergarten", 2),
            "Mẫu giáo 5 tuổi năm học 2027–2028, đợt 2",
            "Kindergarten, school year 2027–2028, round 2",
        ),
        (
            (2028, "grade_6", 1, True),
            "Tập dượt: Lớp 6 năm học 2028–2029",
            "Practice: Grade 6, school year 2028–2029",
        ),
    ],
)
def test_a_round_is_named_in_both_languages_in_notices_and_on_the_portal(
    args: tuple, vi: str, en: str
) -> None:
    round_id = round_id_for(*args)
    assert (round_name(round_id, "vi"), round_name(round_id, "en")) == (vi, en)
    app = Flask(__name__)
    with app.test_request_context():
        names = []
        for language in ("vi", "en"):
            g.language = language
            names.append(labels.round_name(round_id))
    assert names == [vi, en]


def test_an_id_that_is_not_ours_is_shown_as_it_is() -> None:
    assert parse_round_id("spring-fair") is None
    assert round_name("2027-grade_9", "vi") == "2027-grade_9"
