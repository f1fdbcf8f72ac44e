"""Checking an application against the population register, its round and the schools.

Pure rules: no framework, no database, no I/O. Every failure becomes a `Reason` with a
field path, a code and a message in Vietnamese and English; all of them are collected.
Messages are built only from the round and the parent's own input (never from the
register's values), so a stranger's identification number reveals nothing.
Preference field paths count from 1, as parents do: `preferences.1` is the first choice.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

from services.registration.domain import Submission
from services.registration.register.records import RegisterRecord
from shared.preferences import preference_problems

# Registration age by level: the child's birth year is the round year minus this.
AGE_BY_LEVEL: dict[str, int] = {"kindergarten": 5, "grade_1": 6, "grade_6": 11}

LEVEL_NAMES: dict[str, tuple[str, str]] = {
    "kindergarten": ("mẫu giáo 5 tuổi", "kindergarten (age 5)"),
    "grade_1": ("lớp 1", "grade 1"),
    "grade_6": ("lớp 6", "grade 6"),
}

# code -> (Vietnamese, English); placeholders come from the round or the position only.
MESSAGES: dict[str, tuple[str, str]] = {
    "not_in_register": (
        "Không tìm thấy số định danh cá nhân của trẻ trong cơ sở dữ liệu dân cư.",
        "The child's personal identification number is not in the population register.",
    ),
    "name_mismatch": (
        "Họ và tên của trẻ không khớp với cơ sở dữ liệu dân cư.",
        "The child's full name does not match the population register.",
    ),
    "birth_date_mismatch": (
        "Ngày sinh của trẻ không khớp với cơ sở dữ liệu dân cư.",
        "The child's date of birth does not match the population register.",
    ),
    "wrong_age_for_level": (
        "Tuyển sinh {level_vi} năm {year} dành cho trẻ sinh năm {birth_year}.",
        "The {year} {level_en} intake is for children born in {birth_year}.",
    ),
    "empty": ("Cần chọn ít nhất một trường.", "Choose at least one school."),
    "too_many": (
        "Chỉ được chọn tối đa {max_preferences} nguyện vọng.",
        "Choose at most {max_preferences} schools.",
    ),
    "duplicate": ("Mỗi trường chỉ được chọn một lần.", "Each school may be chosen only once."),
    "unknown_school": (
        "Nguyện vọng {position}: mã trường không tồn tại.",
        "Preference {position}: there is no school with that code.",
    ),
    "wrong_level": (
        "Nguyện vọng {position}: trường này không tuyển sinh {level_vi}.",
        "Preference {position}: this school does not admit {level_en} pupils.",
    ),
}


@dataclass(frozen=True)
class Claim:
    """What the parent typed: the child's identity and the ranked school choices."""

    citizen_id: str
    full_name: str
    date_of_birth: date
    preferences: tuple[str, ...]

    @classmethod
    def from_submission(cls, submission: Submission) -> Claim:
        """The parts of a stored submission that verification checks."""
        return cls(
            submission.citizen_id,
            submission.child_name,
            submission.date_of_birth,
            submission.preferences,
        )


@dataclass(frozen=True)
class RoundRules:
    """What a round asks of its applications."""

    level: str
    year: int
    max_preferences: int = 3


@dataclass(frozen=True)
class Reason:
    """One failed check, for one field, in both languages."""

    code: str
    field: str
    message_vi: str
    message_en: str

    def as_dict(self) -> dict[str, str]:
        """The JSON shape stored in `applications.rejection_reasons`."""
        return {
            "code": self.code,
            "field": self.field,
            "message_vi": self.message_vi,
            "message_en": self.message_en,
        }


@dataclass(frozen=True)
class Verified:
    """The application passed; residence, household and priority are the register's."""

    status: ClassVar[str] = "verified"
    ward_code: str
    household_id: str
    priority_category: str | None
    lat: float | None = None  # the residence's point, for rounds that break ties by distance
    lon: float | None = None

    def columns(self) -> dict[str, Any]:
        """The values to set on the stored application."""
        return {
            "status": self.status,
            "ward_code": self.ward_code,
            "household_id": self.household_id,
            "priority_category": self.priority_category,
            "rejection_reasons": None,
        }


@dataclass(frozen=True)
class Rejected:
    """The application failed; every reason found is listed."""

    status: ClassVar[str] = "rejected"
    reasons: tuple[Reason, ...]

    def columns(self) -> dict[str, Any]:
        """The values to set on the stored application."""
        return {
            "status": self.status,
            "ward_code": None,
            "household_id": None,
            "priority_category": None,
            "rejection_reasons": [reason.as_dict() for reason in self.reasons],
        }


Verdict = Verified | Rejected


def normalise_name(name: str) -> str:
    """Compare names as people mean them: NFC, case-folded, single-spaced, trimmed."""
    folded = unicodedata.normalize("NFC", name).casefold()
    # casefold can decompose a few letters again; recompose before comparing.
    return " ".join(unicodedata.normalize("NFC", folded).split())


def required_birth_year(rules: RoundRules) -> int:
    """The birth year a child must have for the round's level."""
    if rules.level not in AGE_BY_LEVEL:
        raise ValueError(f"unknown level {rules.level!r}")
    return rules.year - AGE_BY_LEVEL[rules.level]


def verify(
    claim: Claim,
    record: RegisterRecord | None,
    rules: RoundRules,
    schools: Mapping[str, str],
) -> Verdict:
    """Check `claim` against its register `record`, the round and `schools` (code -> level)."""
    context = _context(rules)
    reasons = [
        *_identity_reasons(claim, record),
        *_age_reasons(claim, context),
        *_preference_reasons(claim.preferences, rules, schools, context),
    ]
    if reasons or record is None:
        return Rejected(tuple(reasons))
    return Verified(
        record.ward_code, record.household_id, record.priority_category, record.lat, record.lon
    )


def _context(rules: RoundRules) -> dict[str, Any]:
    birth_year = required_birth_year(rules)  # refuses an unknown level first
    level_vi, level_en = LEVEL_NAMES[rules.level]
    return {
        "level_vi": level_vi,
        "level_en": level_en,
        "year": rules.year,
        "birth_year": birth_year,
        "max_preferences": rules.max_preferences,
    }


def _reason(code: str, field: str, **values: Any) -> Reason:
    vietnamese, english = MESSAGES[code]
    return Reason(code, field, vietnamese.format(**values), english.format(**values))


def _identity_reasons(claim: Claim, record: RegisterRecord | None) -> list[Reason]:
    if record is None or record.citizen_id != claim.citizen_id:
        return [_reason("not_in_register", "child.citizen_id")]
    reasons = []
    if normalise_name(claim.full_name) != normalise_name(record.full_name):
        reasons.append(_reason("name_mismatch", "child.full_name"))
    if claim.date_of_birth != record.date_of_birth:
        reasons.append(_reason("birth_date_mismatch", "child.date_of_birth"))
    return reasons


def _age_reasons(claim: Claim, context: dict[str, Any]) -> list[Reason]:
    # The typed date is checked: when it matches the register this is the register's date,
    # and when it does not, the parent learns nothing about the register from this reason.
    if claim.date_of_birth.year == context["birth_year"]:
        return []
    return [_reason("wrong_age_for_level", "child.date_of_birth", **context)]


def _preference_reasons(
    preferences: tuple[str, ...],
    rules: RoundRules,
    schools: Mapping[str, str],
    context: dict[str, Any],
) -> list[Reason]:
    problems = preference_problems(preferences, rules.level, rules.max_preferences, schools)
    return [
        _reason(problem.code, _field(problem.position), position=problem.position, **context)
        for problem in problems
    ]


def _field(position: int | None) -> str:
    return "preferences" if position is None else f"preferences.{position}"
