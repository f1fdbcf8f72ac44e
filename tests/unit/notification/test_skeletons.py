"""E-mails filled into skeletons say exactly what a full rendering of the templates says."""

from __future__ import annotations

from typing import Any

import pytest
from jinja2 import DictLoader, Environment

from services.notification.rendering import render, skeletons
from services.notification.rendering.notices import notice_for
from services.notification.rendering.render import LANGUAGES, render_email
from tests.unit.notification.examples import EVENTS, application

CASES = [
    pytest.param(event, payload, language, id=f"{template}-{language}-{n}")
    for n, (event, payload, template) in enumerate(EVENTS)
    for language in LANGUAGES
]
# Names a parent may type: markup, braces (the skeletons are format strings), a leading dash.
NAMES = ["Nguyễn Thị Bích Ngọc", "Bình <b>&</b> {0} {x}", "-Lan", "An  Khang", "Hà\nNội", ""]


def full(notice: Any) -> render.Email:
    return render.Email(*render._render_email(notice.template, notice.language, notice.context))


@pytest.mark.parametrize(("event", "payload", "language"), CASES)
def test_every_event_from_a_skeleton_reads_as_the_full_rendering(
    event: str, payload: dict[str, Any], language: str
) -> None:
    for name in NAMES * 2:  # the second time round, each shape has its skeleton
        notice = notice_for("e1", event, payload, application(language, full_name=name))

        assert render_email(notice.template, notice.language, notice.context) == full(notice)


def test_the_templates_print_the_names_and_codes_as_they_are() -> None:
    printed = skeletons.printed_names(render._environment(), "vi/seat_offered.j2")

    assert {"guardian_name", "child_name", "reference", "school_code", "deadline"} <= printed


def test_a_name_a_template_tests_or_filters_is_never_left_to_fill_in() -> None:
    environment = Environment(
        loader=DictLoader(
            {
                "t.j2": '{% import "m.j2" as m %}{% import "p.j2" as p %}'
                "{{ a }} {% if b %}{{ b }}{% endif %} {{ c | upper }} {{ m.f(d) }}"
                "{{ p.f(e) }} {{ q.f(g) }}",
                "m.j2": "{% macro f(x) %}{{ x | lower }}{% endmacro %}",
                "p.j2": "{% macro f(x) %}{{ x }}{% endmacro %}",
            }
        )
    )

    # `e` goes to a macro that prints it; `g` to something that is no import at all.
    assert skeletons.printed_names(environment, "t.j2") == {"a", "e"}


def test_a_shape_is_rendered_in_full_until_it_is_seen_again() -> None:
    calls = []

    def counted(template: str, language: str, context: dict[str, Any]) -> skeletons.Forms:
        calls.append(context["reference"])
        return render._render_email(template, language, context)

    notice = notice_for("e1", *EVENTS[4][:2], application("en"))
    for _ in range(4):
        skeletons.fill(render._environment(), "seat_offered", "en", notice.context, counted)

    # First sight: rendered. Second: the skeleton is built (markers) and checked (real). Then
    # it only fills in (or it was built in an earlier test).
    assert len(calls) <= 3
