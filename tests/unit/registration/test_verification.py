"""Verification against the register, the round and the school directory, in plain Python."""

from __future__ import annotations

import dataclasses
import unicodedata
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.registration.domain import Guardian, Submission
from services.registration.register.records import RegisterRecord
from services.registration.verification.rules import (
    MESSAGES,
    Claim,
    Rejected,
    RoundRules,
    Verified,
    normalise_name,
    verify,
)

GRADE_1 = RoundRules(level="grade_1", year=2027, max_preferences=3)
SCHOOLS = {
    "TH-0001": "grade_1",
    "TH-0002": "grade_1",
    "TH-0003": "grade_1",
    "MN-0001": "kindergarten",
}
RECORD = RegisterRecord(
    citizen_id="001221000123",
    full_name="Nguyễn Văn An",
    date_of_birth=date(2021, 3, 4),
    gender="M",
    ward_code="00070",
    household_id="HN0000000001",
    priority_category="khuyet_tat",
)
CLAIM = Claim(
    citizen_id="001221000123",
    full_name="Nguyễn Văn An",
    date_of_birth=date(2021, 3, 4),
    preferences=("TH-0001", "TH-0002"),
)


def reasons_of(
    claim: Claim, record: RegisterRecord | None = RECORD, rules: RoundRules = GRADE_1
) -> list[tuple[str, str]]:
    """The (field, code) pairs of a verdict that must be a rejection."""
    verdict = verify(claim, record, rules, SCHOOLS)
    assert isinstance(verdict, Rejected), verdict
    return [(reason.field, reason.code) for reason in verdict.reasons]


def test_a_child_matching_the_register_is_verified_with_its_registered_ward_and_priority() -> None:
    verdict = verify(CLAIM, RECORD, GRADE_1, SCHOOLS)

    assert verdict == Verified(
        ward_code="00070", household_id="HN0000000001", priority_category="khuyet_tat"
    )
    assert verdict.columns() == {
        "status": "verified",
        "ward_code": "00070",
        "household_id": "HN0000000001",
        "priority_category": "khuyet_tat",
        "rejection_reasons": None,
    }


def test_the_residence_ward_is_the_registers_whatever_the_family_claims() -> None:
    moved = dataclasses.replace(RECORD, ward_code="09556", priority_category=None)

    verdict = verify(CLAIM, moved, GRADE_1, SCHOOLS)

    assert isinstance(verdict, Verified)
    assert (verdict.ward_code, verdict.priority_category) == ("09556", None)


def test_a_child_missing_from_the_register_is_rejected_as_not_in_register() -> None:
    assert reasons_of(CLAIM, record=None) == [("child.citizen_id", "not_in_register")]


def test_a_record_of_another_citizen_is_never_taken_for_the_child() -> None:
    someone_else = dataclasses.replace(RECORD, citizen_id="001221999999")

    assert reasons_of(CLAIM, record=someone_else) == [("child.citizen_id", "not_in_register")]


def test_a_different_name_is_a_name_mismatch() -> None:
    claim = dataclasses.replace(CLAIM, full_name="Nguyễn Văn Bình")

    assert reasons_of(claim) == [("child.full_name", "name_mismatch")]


def test_a_name_typed_with_decomposed_diacritics_matches_the_composed_register() -> None:
    claim = dataclasses.replace(CLAIM, full_name=unicodedata.normalize("NFD", "Nguyễn Văn An"))
    assert claim.full_name != RECORD.full_name

    assert isinstance(verify(claim, RECORD, GRADE_1, SCHOOLS), Verified)


def test_a_register_name_with_decomposed_diacritics_matches_a_composed_form() -> None:
    record = dataclasses.replace(RECORD, full_name=unicodedata.normalize("NFD", "Nguyễn Văn An"))

    assert isinstance(verify(CLAIM, record, GRADE_1, SCHOOLS), Verified)


def test_case_and_spacing_do_not_matter_in_names() -> None:
    claim = dataclasses.replace(CLAIM, full_name="  NGUYỄN   văn\tAN ")

    assert isinstance(verify(claim, RECORD, GRADE_1, SCHOOLS), Verified)


def test_a_name_stripped_of_its_diacritics_does_not_match() -> None:
    claim = dataclasses.replace(CLAIM, full_name="Nguyen Van An")

    assert reasons_of(claim) == [("child.full_name", "name_mismatch")]


def test_a_different_birth_date_in_the_right_year_is_a_birth_date_mismatch() -> None:
    claim = dataclasses.replace(CLAIM, date_of_birth=date(2021, 3, 5))

    assert reasons_of(claim) == [("child.date_of_birth", "birth_date_mismatch")]


@pytest.mark.parametrize(
    ("level", "born"), [("kindergarten", 2022), ("grade_1", 2021), ("grade_6", 2016)]
)
def test_each_level_takes_children_born_in_its_year_only(level: str, born: int) -> None:
    rules = RoundRules(level=level, year=2027)
    schools = {"X-1": level}
    for year, expected in ((born - 1, False), (born, True), (born + 1, False)):
        record = dataclasses.replace(RECORD, date_of_birth=date(year, 3, 4))
        claim = dataclasses.replace(CLAIM, date_of_birth=date(year, 3, 4), preferences=("X-1",))

        verdict = verify(claim, record, rules, schools)

        assert isinstance(verdict, Verified) is expected, (level, year, verdict)
        if not expected:
            assert isinstance(verdict, Rejected)
            assert [(r.field, r.code) for r in verdict.reasons] == [
                ("child.date_of_birth", "wrong_age_for_level")
            ]


def test_the_wrong_age_reason_names_the_required_birth_year_in_both_languages() -> None:
    record = dataclasses.replace(RECORD, date_of_birth=date(2020, 3, 4))
    claim = dataclasses.replace(CLAIM, date_of_birth=date(2020, 3, 4))

    verdict = verify(claim, record, GRADE_1, SCHOOLS)

    assert isinstance(verdict, Rejected)
    [reason] = verdict.reasons
    assert reason.message_vi == "Tuyển sinh lớp 1 năm 2027 dành cho trẻ sinh năm 2021."
    assert reason.message_en == "The 2027 grade 1 intake is for children born in 2021."


def test_no_preferences_at_all_is_empty() -> None:
    assert reasons_of(dataclasses.replace(CLAIM, preferences=())) == [("preferences", "empty")]


def test_more_preferences_than_the_round_allows_is_too_many() -> None:
    claim = dataclasses.replace(CLAIM, preferences=("TH-0001", "TH-0002", "TH-0003"))
    rules = dataclasses.replace(GRADE_1, max_preferences=2)

    assert reasons_of(claim, rules=rules) == [("preferences", "too_many")]


def test_a_school_chosen_twice_is_a_duplicate() -> None:
    claim = dataclasses.replace(CLAIM, preferences=("TH-0001", "TH-0001"))

    assert reasons_of(claim) == [("preferences", "duplicate")]


def test_an_unknown_school_is_reported_at_its_rank_counting_from_one() -> None:
    claim = dataclasses.replace(CLAIM, preferences=("TH-0001", "TH-9999"))

    assert reasons_of(claim) == [("preferences.2", "unknown_school")]


def test_a_school_of_another_level_is_the_wrong_level() -> None:
    claim = dataclasses.replace(CLAIM, preferences=("MN-0001", "TH-0001"))

    assert reasons_of(claim) == [("preferences.1", "wrong_level")]


def test_every_reason_is_collected_not_only_the_first() -> None:
    claim = Claim(
        citizen_id=RECORD.citizen_id,
        full_name="Trần Thị Cúc",
        date_of_birth=date(2019, 1, 1),
        preferences=("TH-0001", "TH-0001", "MN-0001", "NOPE-1"),
    )

    assert reasons_of(claim) == [
        ("child.full_name", "name_mismatch"),
        ("child.date_of_birth", "birth_date_mismatch"),
        ("child.date_of_birth", "wrong_age_for_level"),
        ("preferences", "too_many"),
        ("preferences", "duplicate"),
        ("preferences.3", "wrong_level"),
        ("preferences.4", "unknown_school"),
    ]


def test_reasons_never_repeat_the_registers_or_the_forms_personal_data() -> None:
    stranger = dataclasses.replace(RECORD, full_name="Lê Thị Hoa", date_of_birth=date(2021, 9, 9))
    claim = dataclasses.replace(CLAIM, preferences=("TH-0001", "ZZ-404"))

    verdict = verify(claim, stranger, GRADE_1, SCHOOLS)

    assert isinstance(verdict, Rejected)
    text = " ".join(r.message_vi + " " + r.message_en for r in verdict.reasons)
    for value in ("Lê Thị Hoa", "Hoa", "09", "2021-09-09", "Nguyễn", "001221000123", "ZZ-404"):
        assert value not in text


def test_a_rejection_stores_its_reasons_and_no_register_data() -> None:
    verdict = verify(dataclasses.replace(CLAIM, preferences=()), RECORD, GRADE_1, SCHOOLS)

    assert verdict.columns() == {
        "status": "rejected",
        "ward_code": None,
        "household_id": None,
        "priority_category": None,
        "rejection_reasons": [
            {
                "code": "empty",
                "field": "preferences",
                "message_vi": "Cần chọn ít nhất một trường.",
                "message_en": "Choose at least one school.",
            }
        ],
    }


def test_every_reason_code_speaks_vietnamese_and_english() -> None:
    for code, (vietnamese, english) in MESSAGES.items():
        assert vietnamese and english and vietnamese != english, code


def test_a_claim_is_read_from_a_submission() -> None:
    submission = Submission(
        reference="TSREF000000000001",
        round_id="2027-grade_1",
        citizen_id=CLAIM.citizen_id,
        child_name=CLAIM.full_name,
        date_of_birth=CLAIM.date_of_birth,
        preferences=CLAIM.preferences,
        guardian=Guardian("Nguyễn Thị Bình", "0912345678", "binh@example.com", "vi"),
        submitted_at=datetime(2027, 6, 1, 8, 0, tzinfo=UTC),
    )

    assert Claim.from_submission(submission) == CLAIM


def test_a_round_of_an_unknown_level_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown level"):
        verify(CLAIM, RECORD, RoundRules(level="grade_10", year=2027), SCHOOLS)


VIETNAMESE_LETTERS = (
    "aăâbcdđeêghiklmnoôơpqrstuưvxyáàảãạắằẳẵặấầẩẫậéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ"
)
vietnamese_names = st.lists(
    st.text(alphabet=VIETNAMESE_LETTERS, min_size=1, max_size=8), min_size=1, max_size=4
).map(" ".join)


@given(vietnamese_names)
def test_a_name_matches_itself_in_any_normal_form_case_or_spacing(name: str) -> None:
    variants = [
        unicodedata.normalize("NFD", name),
        name.upper(),
        name.title(),
        "  " + name.replace(" ", "   ") + "\n",
    ]
    for variant in variants:
        assert normalise_name(variant) == normalise_name(name)
