"""The registration database: applications, and its projection of allocation's rounds."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.registration.domain import Current, Guardian, Window
from shared.db.types import UtcDateTime


class Base(DeclarativeBase):
    """Declarative base of the registration database."""


class Application(Base):
    """One child's application to one round."""

    __tablename__ = "applications"
    __table_args__ = (UniqueConstraint("round_id", "citizen_id", name="one_per_child_per_round"),)

    reference: Mapped[str] = mapped_column(String(32), primary_key=True)
    round_id: Mapped[str] = mapped_column(String(40), index=True)
    # The personal data is NULL once the application is erased (services/registration/
    # erasure.py); reference, round, status and preferences stay for the statistics. Typed
    # as never None: an erased application is never amended or checked again (its round
    # has closed), so no rule reads these from an erased row.
    citizen_id: Mapped[str] = mapped_column(String(12), nullable=True)
    child_name: Mapped[str] = mapped_column(String(120), nullable=True)
    date_of_birth: Mapped[date] = mapped_column(Date, nullable=True)
    preferences: Mapped[list[str]] = mapped_column(JSON)
    guardian_name: Mapped[str] = mapped_column(String(120), nullable=True)
    guardian_phone: Mapped[str] = mapped_column(String(16), nullable=True)
    guardian_email: Mapped[str] = mapped_column(String(254), nullable=True)
    language: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(20))
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Filled in by verification, from the register (never from the form).
    ward_code: Mapped[str | None] = mapped_column(String(10))
    priority_category: Mapped[str | None] = mapped_column(String(40))
    household_id: Mapped[str | None] = mapped_column(String(20))
    rejection_reasons: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    # When the status last changed, by the clock of the event that changed it: an older
    # event arriving late never overwrites a newer status.
    status_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The parent account that submitted it (None for applications entered by staff or tests).
    owner_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # Registered by a help desk for a family without an account: at which help point.
    help_point: Mapped[str | None] = mapped_column(String(40))
    # The parent asked for erasure; the retention rule erases it once the round has closed
    # and the retention period has passed (then `erased_at`).
    erasure_requested_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The last change the gateway answered 202 for and we refused (domain.Refusal.as_dict):
    # the family sees it on the application. A refused first submission is stored with
    # status `refused`; a refused amendment or withdrawal leaves the application as it was.
    refusal: Mapped[dict[str, str] | None] = mapped_column(JSON)
    # Accepted by the department after close (a late application): the reason it recorded
    # and the department account that accepted it. NULL for every on-time application.
    late_reason: Mapped[str | None] = mapped_column(String(500))
    late_accepted_by: Mapped[str | None] = mapped_column(String(64))

    @property
    def late(self) -> bool:
        """Whether the department accepted this application after close."""
        return self.late_reason is not None

    def current(self) -> Current:
        """The amendable parts, for the domain rules."""
        return Current(
            preferences=tuple(self.preferences),
            guardian=Guardian(
                self.guardian_name, self.guardian_phone, self.guardian_email, self.language
            ),
            child_name=self.child_name,
            date_of_birth=self.date_of_birth,
            withdrawn=self.status == "withdrawn",
        )


class RoundView(Base):
    """Registration's copy of a round, kept from allocation's round events."""

    __tablename__ = "rounds"

    round_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    level: Mapped[str] = mapped_column(String(20))
    year: Mapped[int] = mapped_column(Integer)
    max_preferences: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    practice: Mapped[bool] = mapped_column(Boolean, default=False)
    # The window, as allocation announced it: submissions stamped in [opens_at, closes_at).
    opens_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closes_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    def window(self) -> Window:
        """The window, for the domain rules."""
        return Window(self.status, self.opens_at, self.closes_at)


class LiveTally(Base):
    """One running count of a round's applications, kept in the transaction that changes them
    (`intake/tallies.py`): the department's live page reads these, never the
    applications. `series` is status, ward, reason (current counts), or submitted and checked
    (per UTC minute, `key` like 2027-06-01T08:05)."""

    __tablename__ = "live_tallies"

    round_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    series: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class SchoolEntry(Base):
    """Registration's copy of allocation's school directory: code and level only."""

    __tablename__ = "schools"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    level: Mapped[str] = mapped_column(String(20))
