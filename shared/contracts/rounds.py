"""Round ids: readable, stable, and a practice round's never a real one's."""

from __future__ import annotations

import re

# A practice (trial) round's id starts with this, so it can never be a real round's id and
# every service and page can tell one apart by its id alone.
PRACTICE_PREFIX = "practice-"

ROUND_ID = re.compile(
    r"^(?P<practice>practice-)?(?P<year>\d{4})-(?P<level>[a-z]+(?:_\d+)?)(?:-r(?P<number>\d+))?$"
)


def parse_round_id(round_id: str) -> tuple[int, str, int, bool] | None:
    """`round_id_for` read back: (year, level, round number, practice), or None."""
    found = ROUND_ID.match(round_id or "")
    if found is None:
        return None
    number = int(found["number"] or 1)
    return int(found["year"]), found["level"], number, bool(found["practice"])


def round_id_for(year: int, level: str, number: int = 1, practice: bool = False) -> str:
    """Readable, stable ids: `2027-grade_1`, `2027-grade_1-r2` for a second round, and
    `practice-2027-grade_1` for a practice round (never the id of a real one)."""
    base = f"{PRACTICE_PREFIX if practice else ''}{year}-{level}"
    return base if number == 1 else f"{base}-r{number}"


def is_practice_round(round_id: str) -> bool:
    """Whether a round id names a practice round (see PRACTICE_PREFIX)."""
    return round_id.startswith(PRACTICE_PREFIX)
