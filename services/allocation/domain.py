"""Round lifecycle rules in plain Python."""

from __future__ import annotations

from services.allocation.exceptions import InvalidTransition

LIFECYCLE = ("draft", "open", "closed", "allocated", "published", "finalized")

# The step each action takes, from the one status it is allowed in.
TRANSITIONS: dict[str, tuple[str, str]] = {
    "open": ("draft", "open"),
    "close": ("open", "closed"),
    "allocate": ("closed", "allocated"),
    "publish": ("allocated", "published"),
    "finalize": ("published", "finalized"),
}

# Registration age by level: the birth year is the round year minus this.
AGE_BY_LEVEL = {"kindergarten": 5, "grade_1": 6, "grade_6": 11}


def next_status(action: str, current: str) -> str:
    """The status after `action`, or InvalidTransition if the round is not where it must be."""
    required, target = TRANSITIONS[action]
    if current != required:
        raise InvalidTransition(f"cannot {action} a round that is {current}")
    return target


def round_id_for(year: int, level: str, number: int = 1) -> str:
    """Readable, stable ids: `2027-grade_1`, and `2027-grade_1-r2` for a second round."""
    base = f"{year}-{level}"
    return base if number == 1 else f"{base}-r{number}"
