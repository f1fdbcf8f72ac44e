"""Every notice in both languages and every form: e-mail (subject, text, HTML) and SMS."""

from __future__ import annotations

from typing import Any

import pytest
from markupsafe import escape

from services.notification.delivery.sms import prepare, shape
from services.notification.rendering.notices import NOTICE_TEMPLATES, OTP_TEMPLATE, notice_for
from services.notification.rendering.render import LANGUAGES, forms, render_email, render_sms
from tests.unit.notification.examples import DEADLINE, EVENTS, REFERENCE, SCHOOL, application

CASES = [
    pytest.param(event, payload, template, language, id=f"{template}-{language}-{n}")
    for n, (event, payload, template) in enumerate(EVENTS)
    for language in LANGUAGES
]


def render(event: str, payload: dict[str, Any], language: str, **guardian: str) -> Any:
    notice = notice_for("e1", event, payload, application(language, **guardian))
    email = render_email(notice.template, notice.language, notice.context)
    return notice, email, prepare(render_sms(notice.template, notice.language, notice.context))


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("template", NOTICE_TEMPLATES)
def test_every_notice_has_a_subject_a_text_and_an_sms(template: str, language: str) -> None:
    assert forms(template, language) == {"subject", "text", "sms"}


def test_every_template_is_exercised_by_an_example_event() -> None:
    assert {template for _, _, template in EVENTS} == set(NOTICE_TEMPLATES)


@pytest.mark.parametrize(("event", "payload", "template", "language"), CASES)
def test_each_event_renders_in_the_guardians_language(
    event: str, payload: dict[str, Any], template: str, language: str
) -> None:
    notice, email, _ = render(event, payload, language)

    assert notice.template == template
    assert "\n" not in email.subject and REFERENCE in email.subject
    assert email.text.startswith("Kính gửi" if language == "vi" else "Dear")
    assert "Nguyễn Hoàng Phương Thảo Nguyên" in email.text
    assert f'<html lang="{language}">' in email.html


@pytest.mark.parametrize(("event", "payload", "template", "language"), CASES)
def test_each_sms_fits_two_segments_even_with_the_longest_values(
    event: str, payload: dict[str, Any], template: str, language: str
) -> None:
    _, _, text = render(event, payload, language)

    assert REFERENCE in text
    assert shape(text).segments <= 2
    if language == "en":
        assert shape(text).encoding == "gsm7"
        assert shape(text).segments == 1


@pytest.mark.parametrize(("event", "payload", "template", "language"), CASES)
def test_the_html_part_says_what_the_text_part_says(
    event: str, payload: dict[str, Any], template: str, language: str
) -> None:
    _, email, _ = render(event, payload, language)

    for line in email.text.splitlines():
        assert str(escape(line.removeprefix("- "))) in email.html


def test_names_are_escaped_in_html_and_kept_as_typed_in_text() -> None:
    _, email, _ = render("application_verified", EVENTS[1][1], "en", full_name="Bình <b>&</b>")

    assert "Dear Bình <b>&</b>," in email.text
    assert "Bình &lt;b&gt;&amp;&lt;/b&gt;" in email.html
    assert "<b>&</b>" not in email.html


def test_an_offer_states_its_deadline_in_city_time_in_every_form() -> None:
    _, email, text = render("seat_offered", EVENTS[4][1], "vi")

    assert DEADLINE.hour == 10  # UTC; Hanoi is UTC+7
    for form in (email.text, email.html, text):
        assert "17:00 20/07/2027" in form
        assert SCHOOL in form


def test_a_guaranteed_seat_says_so_instead_of_a_preference_rank() -> None:
    _, ranked, _ = render("seat_offered", EVENTS[4][1], "en")
    _, guaranteed, _ = render("seat_offered", EVENTS[5][1], "en")

    assert "(preference 2)" in ranked.text
    assert "guaranteed" in guaranteed.text


def test_a_rejection_lists_each_reason_in_words() -> None:
    _, email, text = render("application_rejected", EVENTS[2][1], "vi")

    assert "- Họ và tên của trẻ không khớp" in email.text
    assert "- Nguyện vọng 2: không có trường nào mang mã này." in email.text
    assert "(4 lý do)" in text


def test_a_waitlist_sms_names_the_best_position_and_counts_the_rest() -> None:
    _, email, text = render("application_waitlisted", EVENTS[7][1], "en")

    assert "number 12345 on the waitlist of TH-DICH-VONG-HAU-001 (and 1 more)" in text
    assert "- School THCS-NGUYEN-TRAI-999: position 23456" in email.text


def test_an_unknown_language_falls_back_to_vietnamese() -> None:
    notice, email, _ = render("application_verified", EVENTS[1][1], "fr")

    assert notice.language == "vi"
    assert email.text.startswith("Kính gửi")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_login_code_fits_one_segment(language: str) -> None:
    assert forms(OTP_TEMPLATE, language) == {"sms"}
    text = prepare(render_sms(OTP_TEMPLATE, language, {"code": "12345678", "valid_minutes": 60}))

    assert "12345678" in text
    assert shape(text).segments == 1


@pytest.mark.parametrize(("event", "payload", "template"), EVENTS)
def test_without_diacritics_every_vietnamese_sms_is_one_gsm7_segment(
    event: str, payload: dict[str, Any], template: str
) -> None:
    notice = notice_for("e1", event, payload, application("vi"))
    text = prepare(render_sms(notice.template, "vi", notice.context), diacritics=False)

    assert shape(text).encoding == "gsm7"
    assert shape(text).segments == 1


def test_a_refused_correction_gives_the_reviewers_reason_and_what_the_family_can_do() -> None:
    payload = EVENTS[-1][1]
    _, email, text = render("correction_decided", payload, "en")

    assert payload["reason"] in email.text
    assert "send a new request with other evidence" in email.text
    assert "refused" in text
