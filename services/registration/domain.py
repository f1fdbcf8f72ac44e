"""Registration rules in plain Python: what a (re)submission does to an application."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any


class Outcome(enum.Enum):
    """What storing a submission amounts to."""

    CREATED = "created"
    AMENDED = "amended"
    UNCHANGED = "unchanged"
    REFUSED_ROUND_CLOSED = "refused_round_closed"


# The status each of allocation's outcome events gives an application.
OUTCOME_STATUS = {
    "seat_offered": "offered",
    "application_waitlisted": "waitlisted",
    "application_unplaced": "unplaced",
    "offer_accepted": "accepted",
    "offer_declined": "declined",
    "offer_expired": "expired",
    "enrollment_confirmed": "enrolled",
    "school_rejected": "school_rejected",
}


@dataclass(frozen=True)
class Guardian:
    """The parent's contact details and language."""

    full_name: str
    phone: str
    email: str
    language: str


@dataclass(frozen=True)
class Submission:
    """One submit command, as plain values."""

    reference: str
    round_id: str
    citizen_id: str
    child_name: str
    date_of_birth: date
    preferences: tuple[str, ...]
    guardian: Guardian
    submitted_at: datetime
    owner_id: str | None = None

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Submission:
        """Build from a loaded `submit_application` v1 payload."""
        child = payload["child"]
        return cls(
            reference=payload["reference"],
            round_id=payload["round_id"],
            citizen_id=child["citizen_id"],
            child_name=child["full_name"],
            date_of_birth=child["date_of_birth"],
            preferences=tuple(payload["preferences"]),
            guardian=Guardian(**payload["guardian"]),
            submitted_at=payload["submitted_at"],
            owner_id=payload.get("owner_id"),
        )


@dataclass(frozen=True)
class Current:
    """The parts of a stored application a resubmission may change."""

    preferences: tuple[str, ...]
    guardian: Guardian
    child_name: str
    date_of_birth: date
    withdrawn: bool = False


def decide(round_open: bool, current: Current | None, submission: Submission) -> Outcome:
    """One application per child per round: a repeat is an amend, and only while open."""
    if not round_open:
        return Outcome.REFUSED_ROUND_CLOSED
    if current is None:
        return Outcome.CREATED
    if current.withdrawn:
        return Outcome.AMENDED  # submitting again while open takes the withdrawal back
    same = (
        current.preferences == submission.preferences
        and current.guardian == submission.guardian
        and current.child_name == submission.child_name
        and current.date_of_birth == submission.date_of_birth
    )
    if same:
        return Outcome.UNCHANGED
    return Outcome.AMENDED


HOUR = timedelta(hours=1)
MAX_HOURS = 24 * 60  # of a window longer than sixty days, the last sixty days are shown


def hourly_series(counts: Mapping[datetime, int]) -> list[tuple[datetime, int]]:
    """Applications per hour from the first hour with one to the last, quiet hours as 0.

    `counts` maps the start of an hour (aware) to the applications first submitted in it.
    """
    if not counts:
        return []
    hours = sorted(counts)
    first, last = hours[0], hours[-1]
    span = int((last - first) / HOUR) + 1
    if span > MAX_HOURS:
        first = last - (MAX_HOURS - 1) * HOUR
        span = MAX_HOURS
    return [(first + i * HOUR, int(counts.get(first + i * HOUR, 0))) for i in range(span)]
