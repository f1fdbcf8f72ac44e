"""Registration rules in plain Python: what a (re)submission does to an application."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any


class Outcome(enum.Enum):
    """What storing a submission amounts to."""

    CREATED = "created"
    AMENDED = "amended"
    UNCHANGED = "unchanged"
    REFUSED_ROUND_CLOSED = "refused_round_closed"


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
        )


@dataclass(frozen=True)
class Current:
    """The parts of a stored application a resubmission may change."""

    preferences: tuple[str, ...]
    guardian: Guardian


def decide(round_open: bool, current: Current | None, submission: Submission) -> Outcome:
    """One application per child per round: a repeat is an amend, and only while open."""
    if not round_open:
        return Outcome.REFUSED_ROUND_CLOSED
    if current is None:
        return Outcome.CREATED
    if current.preferences == submission.preferences and current.guardian == submission.guardian:
        return Outcome.UNCHANGED
    return Outcome.AMENDED
