"""SMS encodings and segment counts, at the boundaries where the price changes."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.notification.delivery.sms import (
    encoding_of,
    fit,
    fold_diacritics,
    normalise_phone,
    prepare,
    shape,
)


def test_plain_ascii_is_gsm7_with_160_characters_in_one_segment() -> None:
    assert shape("a" * 160).encoding == "gsm7"
    assert shape("a" * 160).segments == 1
    assert shape("a" * 161).segments == 2


def test_concatenated_gsm7_parts_hold_153_characters_each() -> None:
    assert shape("a" * 306).segments == 2
    assert shape("a" * 307).segments == 3


def test_extension_characters_cost_two_septets_and_are_never_split() -> None:
    assert shape("€" * 80).units == 160
    assert shape("€" * 80).segments == 1
    # 152 plain septets then an escape pair: the pair does not fit in part one's last slot.
    assert shape("a" * 152 + "€" + "a" * 10).segments == 2
    assert shape("a" * 152 + "€" + "a" * 152).segments == 3


def test_vietnamese_with_diacritics_needs_ucs2_with_70_characters_in_one_segment() -> None:
    text = "Hồ sơ đã được tiếp nhận"
    assert encoding_of(text) == "ucs2"
    assert shape("ệ" * 70).segments == 1
    assert shape("ệ" * 71).segments == 2


def test_concatenated_ucs2_parts_hold_67_characters_each() -> None:
    assert shape("ệ" * 134).segments == 2
    assert shape("ệ" * 135).segments == 3


def test_a_character_outside_the_basic_plane_takes_two_units_and_is_never_split() -> None:
    assert shape("🙂").units == 2
    assert shape("ệ" * 66 + "🙂" + "ệ").segments == 1  # 69 units
    # 134 units would fill two parts exactly, but the pair cannot straddle them.
    assert shape("ệ" * 66 + "🙂" + "ệ" * 66).segments == 3


def test_one_character_outside_gsm7_turns_the_whole_message_into_ucs2() -> None:
    assert shape("a" * 100 + "ă").encoding == "ucs2"
    assert shape("a" * 100 + "ă").segments == 2


def test_the_empty_text_costs_nothing() -> None:
    assert shape("").segments == 0


def test_decomposed_vietnamese_is_recomposed_before_counting() -> None:
    decomposed = unicodedata.normalize("NFD", "Nguyễn Thị Bình")
    assert len(decomposed) > len("Nguyễn Thị Bình")
    assert prepare(decomposed) == "Nguyễn Thị Bình"


def test_folding_diacritics_makes_vietnamese_gsm7() -> None:
    folded = fold_diacritics("Hồ sơ ĐÃ được tiếp nhận, Đống Đa")
    assert folded == "Ho so DA duoc tiep nhan, Dong Da"
    assert encoding_of(folded) == "gsm7"


def test_prepare_puts_the_text_on_one_line() -> None:
    assert prepare("Tuyển sinh:\n  đã nhận\thồ sơ ") == "Tuyển sinh: đã nhận hồ sơ"


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("0912345678", "+84912345678"),
        ("091 234 5678", "+84912345678"),
        ("+84912345678", "+84912345678"),
        ("0084912345678", "+84912345678"),
        ("84912345678", "+84912345678"),
        ("912345678", "+84912345678"),
    ],
)
def test_phone_numbers_are_normalised_to_e164(typed: str, e164: str) -> None:
    assert normalise_phone(typed) == e164


@pytest.mark.parametrize("typed", ["", "abc", "0912", "+1234567890123456"])
def test_what_is_not_a_phone_number_is_refused(typed: str) -> None:
    with pytest.raises(ValueError):
        normalise_phone(typed)


@given(st.text(max_size=500))
def test_segments_always_have_room_for_the_whole_text(text: str) -> None:
    sms = shape(text)
    single = 160 if sms.encoding == "gsm7" else 70
    part = 153 if sms.encoding == "gsm7" else 67
    if sms.units <= single:
        assert sms.segments == (1 if text else 0)
    else:
        assert sms.segments * part >= sms.units
        assert (sms.segments - 1) * part < sms.units + sms.segments  # no needless part


def test_a_text_within_the_part_budget_is_sent_as_written() -> None:
    text = "Tuyển sinh: hồ sơ TS1 được nhận vào trường TH-001. " * 2  # 104 UCS-2 units
    assert shape(text).segments == 2
    assert fit(text, 2) == text


def test_a_vietnamese_text_over_the_budget_is_folded_to_gsm7_first() -> None:
    text = "Tuyển sinh: hồ sơ đã được tiếp nhận, kết quả sẽ báo qua SMS. " * 3  # 3 UCS-2 parts
    assert shape(text).segments == 3

    shortened = fit(text, 2)

    assert shortened == fold_diacritics(text)
    assert (shape(shortened).encoding, shape(shortened).segments) == ("gsm7", 2)


def test_a_text_too_long_even_folded_is_cut_at_a_word_with_an_ellipsis() -> None:
    text = "Tuyển sinh: hồ sơ TS1 " + "chưa hợp lệ vì thiếu giấy tờ " * 20

    shortened = fit(text, 1)

    assert shape(shortened).segments == 1
    assert shortened.startswith("Tuyen sinh: ho so TS1 ")
    cut = shortened.removesuffix("...")
    assert shortened.endswith("...") and fold_diacritics(text).startswith(cut)
    assert fold_diacritics(text)[len(cut)] == " "  # never half a word
    assert len(shortened) > 150  # it uses the part it pays for
