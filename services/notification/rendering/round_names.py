"""A round's name as parents read it in a notice: "Lớp 1 năm học 2027–2028", not `2027-grade_1`."""

from __future__ import annotations

from shared.contracts.rounds import parse_round_id

LEVELS = {
    "vi": {"kindergarten": "Mẫu giáo 5 tuổi", "grade_1": "Lớp 1", "grade_6": "Lớp 6"},
    "en": {"kindergarten": "Kindergarten", "grade_1": "Grade 1", "grade_6": "Grade 6"},
}
PATTERNS = {
    "vi": ("{level} năm học {start}–{end}", "{name}, đợt {number}", "Tập dượt: {name}"),
    "en": ("{level}, school year {start}–{end}", "{name}, round {number}", "Practice: {name}"),
}


def round_name(round_id: str, language: str) -> str:
    """The round's name in `language` (vi or en); its id when the id is not one of ours."""
    parsed = parse_round_id(round_id)
    levels, (plain, numbered, practice) = LEVELS[language], PATTERNS[language]
    if parsed is None or parsed[1] not in levels:
        return round_id
    year, level, number, is_practice = parsed
    name = plain.format(level=levels[level], start=year, end=year + 1)
    if number > 1:
        name = numbered.format(name=name, number=number)
    return practice.format(name=name) if is_practice else name
