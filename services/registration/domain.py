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
    help_point: str | None = None  # registered at a help point (`ward:CODE`, `school:CODE`)
    late_reason: str | None = None  # the department accepted it after close, with this reason
    late_accepted_by: str | None = None

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
            help_point=payload.get("help_point"),
            late_reason=(payload.get("late") or {}).get("reason"),
            late_accepted_by=(payload.get("late") or {}).get("accepted_by"),
        )


@dataclass(frozen=True)
class Current:
    """The parts of a stored application a resubmission may change."""

    preferences: tuple[str, ...]
    guardian: Guardian
    child_name: str
    date_of_birth: date
    withdrawn: bool = False


@dataclass(frozen=True)
class Window:
    """A round's window as allocation announced it: a change stamped by the gateway in
    `[opens_at, closes_at)` counts, however long it then waited in a queue."""

    status: str
    opens_at: datetime | None = None
    closes_at: datetime | None = None

    def refusal_for(self, stamped_at: datetime) -> str | None:
        """None if a change stamped at `stamped_at` is in time; else why not (a code)."""
        if self.opens_at is not None and stamped_at < self.opens_at:
            return "round_not_open"
        if self.closes_at is not None:
            return "round_closed" if stamped_at >= self.closes_at else None
        # No close instant known (a round closed before windows existed): its status decides.
        return None if self.status == "open" else "round_closed"


# code -> (Vietnamese, English): why a change answered "received" was refused later.
REFUSAL_MESSAGES: dict[str, tuple[str, str]] = {
    "round_closed": (
        "Hồ sơ được gửi sau thời điểm kết thúc đợt tuyển sinh nên không được tiếp nhận.",
        "It was sent after the admissions round had closed, so it could not be accepted.",
    ),
    "round_not_open": (
        "Hồ sơ được gửi trước thời điểm mở đợt tuyển sinh nên không được tiếp nhận.",
        "It was sent before the admissions round opened, so it could not be accepted.",
    ),
    "holds_a_place": (
        "Trẻ đang giữ một chỗ học hoặc một vị trí trong danh sách chờ: hãy từ chối chỗ đó trước.",
        "The child holds a seat or a waitlist place: decline it first, then ask again.",
    ),
}


@dataclass(frozen=True)
class Refusal:
    """A change the gateway answered 202 for, refused here: what it was, and why."""

    what: str  # submission, amendment, withdrawal, erasure
    code: str
    at: datetime

    def as_dict(self) -> dict[str, str]:
        """The JSON shape stored on the application and shown to the family."""
        vi, en = REFUSAL_MESSAGES[self.code]
        return {
            "what": self.what,
            "code": self.code,
            "message_vi": vi,
            "message_en": en,
            "at": self.at.isoformat(),
        }


def decide(window: Window, current: Current | None, submission: Submission) -> Outcome:
    """One application per child per round: a repeat is an amend, and only in time (by the
    instant the gateway stamped on it, never by when we got to it).

    A late application (the department accepted it after close, with a reason) is the one
    exception to the window, and only for a child with no application in the round yet: it
    is stored once, never amends, and a parent's submission can never carry it.
    """
    if submission.late_reason is not None:
        late_in_time = window.refusal_for(submission.submitted_at) == "round_closed"
        return Outcome.CREATED if current is None and late_in_time else Outcome.UNCHANGED
    if window.refusal_for(submission.submitted_at) is not None:
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
