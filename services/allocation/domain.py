"""Round lifecycle rules in plain Python: transitions, options, intake and carried-over seats."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.allocation.exceptions import InvalidRound, InvalidTransition
from shared.contracts.rounds import round_id_for

__all__ = [
    "round_id_for"
]  # the ids are a contract (shared.contracts.rounds); the rules here use them

LIFECYCLE = ("draft", "open", "closed", "allocated", "published", "finalized")

# The step each action takes, from the statuses it is allowed in.
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "open": (("draft",), "open"),
    "close": (("open",), "closed"),
    # Allocating again while `allocated` replaces the preview (after adjusting capacities).
    "allocate": (("closed", "allocated"), "allocated"),
    "publish": (("allocated",), "published"),
    "finalize": (("published",), "finalized"),
}

# Registration age by level: the birth year is the round year minus this.
AGE_BY_LEVEL = {"kindergarten": 5, "grade_1": 6, "grade_6": 11}

# Seat statuses (engine.seats.SeatStatus values) that hold a seat at a school.
HOLDING = ("offered", "accepted", "enrolled")
MAX_OFFER_DAYS = 60


def next_status(action: str, current: str) -> str:
    """The status after `action`, or InvalidTransition if the round is not where it must be."""
    allowed, target = TRANSITIONS[action]
    if current not in allowed:
        raise InvalidTransition(f"cannot {action} a round that is {current}")
    return target


@dataclass(frozen=True)
class RoundOptions:
    """What the department chooses when it creates a round."""

    level: str
    year: int
    number: int = 1
    max_preferences: int = 3
    sibling_priority: bool = False
    distance_tiebreak: bool = False
    offer_days: int = 7
    practice: bool = False
    shared_sibling_lottery: bool = False
    twins_together: bool = False

    def __post_init__(self) -> None:
        flags = (
            self.sibling_priority,
            self.distance_tiebreak,
            self.practice,
            self.shared_sibling_lottery,
            self.twins_together,
        )
        numbers = (self.year, self.number, self.max_preferences, self.offer_days)
        if not all(type(flag) is bool for flag in flags) or not all(
            type(number) is int for number in numbers
        ):
            raise InvalidRound("flags must be true or false, and numbers whole numbers")
        problems = []
        if self.level not in AGE_BY_LEVEL:
            problems.append(f"level must be one of {', '.join(AGE_BY_LEVEL)}")
        if not 2000 <= self.year <= 2100:
            problems.append("year must be between 2000 and 2100")
        if not 1 <= self.number <= 9:
            problems.append("number must be between 1 and 9")
        if not 1 <= self.max_preferences <= 10:
            problems.append("max_preferences must be between 1 and 10")
        if not 1 <= self.offer_days <= MAX_OFFER_DAYS:
            problems.append(f"offer_days must be between 1 and {MAX_OFFER_DAYS}")
        if problems:
            raise InvalidRound("; ".join(problems))

    @property
    def round_id(self) -> str:
        """The id the round gets."""
        return round_id_for(self.year, self.level, self.number, self.practice)

    def policy(self) -> dict[str, Any]:
        """The allocation policy, as `engine.Policy.to_dict` stores it."""
        return {
            "max_preferences": self.max_preferences,
            "sibling_priority": self.sibling_priority,
            "distance_tiebreak": self.distance_tiebreak,
            "shared_sibling_lottery": self.shared_sibling_lottery,
            "twins_together": self.twins_together,
        }


def require_previous_round(number: int, previous_status: str | None) -> None:
    """A later round follows a published (or finalized) round of the same level and year."""
    if number == 1:
        return
    if previous_status is None:
        raise InvalidRound(f"round {number} needs round {number - 1} of that level and year")
    if previous_status not in ("published", "finalized"):
        raise InvalidRound(f"round {number - 1} is {previous_status}; publish it first")


def intake_refusal(status: Mapping[str, Any] | None, own_backlog: int | None) -> str | None:
    """Why a round cannot be allocated yet, or None when its picture is complete.

    `status` is registration's `intake_status` answer (None: it did not answer);
    `own_backlog` counts application events still waiting for allocation (None: unknown).
    """
    if status is None:
        return "registration did not answer whether every application is verified"
    if own_backlog is None:
        return "the broker did not say whether application events still wait for allocation"
    reasons = []
    if int(status.get("unverified", 0)):
        reasons.append(f"{status['unverified']} applications are not verified yet")
    if int(status.get("backlog", 0)):
        reasons.append(f"{status['backlog']} submissions wait in registration's queue")
    if own_backlog:
        reasons.append(f"{own_backlog} application events wait in allocation's queue")
    return "; ".join(reasons) or None


def carried_capacity(base: int, held_earlier: int) -> int:
    """Seats a later round can give: the school's capacity less the seats still held."""
    return max(0, base - held_earlier)


def offer_deadline(now: datetime, offer_days: int) -> datetime:
    """When an offer made `now` expires."""
    return now + timedelta(days=offer_days)
