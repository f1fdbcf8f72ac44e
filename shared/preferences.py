"""The rules a list of preferred schools must follow, as plain data: the gateway refuses at the
door what breaks them (from its cached school directory), and registration checks them again
against its own copy when it verifies (tests/unit/test_preferences.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One broken rule: a stable code, and the 1-based position of the school it is about
    (None for the list as a whole)."""

    code: str  # empty, too_many, duplicate, unknown_school, wrong_level
    position: int | None = None


def preference_problems(
    preferences: Sequence[str], level: str, max_preferences: int, schools: Mapping[str, str]
) -> list[Problem]:
    """Every problem of `preferences` for a round of `level`; `schools` maps code -> level."""
    if not preferences:
        return [Problem("empty")]
    problems = []
    if len(preferences) > max_preferences:
        problems.append(Problem("too_many"))
    if len(set(preferences)) != len(preferences):
        problems.append(Problem("duplicate"))
    for position, code in enumerate(preferences, start=1):
        found = schools.get(code)
        if found is None:
            problems.append(Problem("unknown_school", position))
        elif found != level:
            problems.append(Problem("wrong_level", position))
    return problems
