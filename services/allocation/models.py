"""The allocation database: rounds, schools, verified applications, results and seats.

All of its tables in one module, over its length: they share one metadata, which Alembic's
`migrations/env.py` reads from here, and their foreign keys (most point to their round)
read best beside the tables they point to. Each table is a plain typed mapping.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db.types import UtcDateTime
from shared.text import folded


class Base(DeclarativeBase):
    """Declarative base of the allocation database."""


class Round(Base):
    """One admission round for one level and year (number 2 is a second round).

    `seed` is the hex of the secret fixed at close; it leaves the service only once the
    round is published. `job` names the allocate or publish job queued for the round.
    """

    __tablename__ = "rounds"

    round_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    level: Mapped[str] = mapped_column(String(20))
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(20))
    max_preferences: Mapped[int] = mapped_column(Integer, default=3)
    policy: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    offer_days: Mapped[int] = mapped_column(Integer, default=7)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # The window: submissions stamped by a gateway in [opens_at, closes_at) count, however
    # long they then wait in a queue; none stamped outside it is ever answered 202. NULL
    # closes_at: open until the department closes it (which schedules closes_at).
    opens_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    closes_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    allocated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    finalized_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # The deadline of the offers made at publication (theirs is NULL on their rows).
    offer_deadline: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    seed: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Published at close: SHA-256 of the seed (`engine.commitment`), fixed with it for good.
    seed_commitment: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Each allocation run's digest of the applications it read, oldest first, published
    # before its results: [{"digest", "applications", "at"}]. Publication uses the last.
    input_digests: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    job: Mapped[str | None] = mapped_column(String(20), nullable=True)
    job_requested_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    job_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    preview_stale: Mapped[bool] = mapped_column(Boolean, default=False)
    statistics: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # A practice (trial) round: kept apart from real rounds, wiped with `discard_round`.
    practice: Mapped[bool] = mapped_column(Boolean, default=False)


class Ward(Base):
    """An administrative ward (phường/xã) with its official code and name."""

    __tablename__ = "wards"

    code: Mapped[str] = mapped_column(String(10), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))


def _search_key(context: Any) -> str:
    """A new school's search key, from its name and code (an import sets it on update)."""
    values = context.get_current_parameters()
    return folded(f"{values['name']} {values['code']}")


class School(Base):
    """A public school of one level, its seats and the wards it serves."""

    __tablename__ = "schools"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(20), index=True)
    capacity: Mapped[int] = mapped_column(Integer)
    ward_code: Mapped[str] = mapped_column(String(10))
    catchment: Mapped[list[str]] = mapped_column(JSON)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    # "name code" in lower case without diacritics: what the department's search matches.
    search_key: Mapped[str] = mapped_column(String(240), default=_search_key, server_default="")


class RoundSchool(Base):
    """A school's seats in one round, fixed when the round is allocated.

    `capacity` = `base_capacity` (the school's) − `held_earlier` (seats still held by
    children placed in earlier rounds of the same level and year). `occupied` counts the
    seats held in this round and moves with every accept, decline and chain after publishing.
    The cutoff is the priority of the last child deferred acceptance admitted.
    `first_choices` and `ranked` count the children who ranked the school first, and at
    all: its demand, stored with the preview for the department's dashboard.
    """

    __tablename__ = "round_schools"

    round_id: Mapped[str] = mapped_column(ForeignKey("rounds.round_id"), primary_key=True)
    school_code: Mapped[str] = mapped_column(String(20), primary_key=True)
    base_capacity: Mapped[int] = mapped_column(Integer)
    held_earlier: Mapped[int] = mapped_column(Integer, default=0)
    capacity: Mapped[int] = mapped_column(Integer)
    occupied: Mapped[int] = mapped_column(Integer, default=0)
    catchment: Mapped[list[str]] = mapped_column(JSON)
    cutoff_tier: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cutoff_lottery: Mapped[str | None] = mapped_column(String(20), nullable=True)
    cutoff_distance: Mapped[int | None] = mapped_column(Integer, nullable=True)
    first_choices: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    ranked: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class VerifiedApplication(Base):
    """Allocation's projection of registration's verdicts: what it needs to place a child.

    `state` is verified, rejected or withdrawn; only verified ones take part. `as_of` is the
    occurred_at of the last event applied, so an older event that arrives late is ignored.
    """

    __tablename__ = "applications"

    reference: Mapped[str] = mapped_column(String(32), primary_key=True)
    round_id: Mapped[str] = mapped_column(String(40), index=True)
    citizen_id: Mapped[str | None] = mapped_column(String(12), nullable=True)
    ward_code: Mapped[str | None] = mapped_column(String(10), nullable=True)
    household_id: Mapped[str | None] = mapped_column(String(20), nullable=True)
    priority_category: Mapped[str | None] = mapped_column(String(40), nullable=True)
    preferences: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The residence's point from the register, when it has one (distance tie-breaks).
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    state: Mapped[str] = mapped_column(String(12))
    as_of: Mapped[datetime] = mapped_column(UtcDateTime)
    # Accepted by the department after close: placed after every on-time application.
    late: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ReservedSeat(Base):
    """Seats of a school held in one round for children of a register category (for example
    `khuyet_tat`, disability), set by the department. Seats the category leaves unused go
    back to the general pool in the same run (`engine.reserves`)."""

    __tablename__ = "reserved_seats"

    round_id: Mapped[str] = mapped_column(ForeignKey("rounds.round_id"), primary_key=True)
    school_code: Mapped[str] = mapped_column(String(20), primary_key=True)
    category: Mapped[str] = mapped_column(String(40))
    seats: Mapped[int] = mapped_column(Integer)


class Placement(Base):
    """One child's result in one round, and after publishing the seat they hold.

    The result columns (school, placed_by, rank, reason, lottery, tiers) are what the
    allocation computed; `tiers` holds the child's tier at each submitted preference (None
    where the preference was ignored). `seat_school`, `status` and `deadline` move with
    offers, acceptances and the freed-seat chain. An offer made at publication has no
    `deadline` of its own: it is the round's `offer_deadline`, which spares the publish job
    rewriting every row.
    """

    __tablename__ = "placements"
    __table_args__ = (
        Index("ix_placements_round_status_deadline", "round_id", "status", "deadline"),
        Index("ix_placements_round_seat", "round_id", "seat_school"),
        Index("ix_placements_round_left", "round_id", "left_school"),
    )

    reference: Mapped[str] = mapped_column(String(32), primary_key=True)
    round_id: Mapped[str] = mapped_column(ForeignKey("rounds.round_id"))
    citizen_id: Mapped[str] = mapped_column(String(12))
    preferences: Mapped[list[str]] = mapped_column(JSON)
    tiers: Mapped[list[int | None]] = mapped_column(JSON)
    distances: Mapped[list[int | None] | None] = mapped_column(JSON, nullable=True)
    lottery: Mapped[str] = mapped_column(String(20))
    school_code: Mapped[str | None] = mapped_column(String(20), nullable=True)
    placed_by: Mapped[str] = mapped_column(String(12))
    rank: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    seat_school: Mapped[str | None] = mapped_column(String(20), nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    deadline: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # The school a child left (declined, expired, rejected by it) and the school's reason.
    left_school: Mapped[str | None] = mapped_column(String(20), nullable=True)
    leave_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # The deadline of the offer the parent was last reminded about (`offer_expiring`): a
    # child moved up a waitlist holds a new offer with a new deadline, and is reminded again.
    reminded_deadline: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # Which seats the allocation gave (general or reserved; None when unplaced), and whether
    # the application was a late one (placed in the late pass, after every on-time one).
    pool: Mapped[str | None] = mapped_column(String(10), nullable=True)
    late: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class WaitlistEntry(Base):
    """A school's waitlist as published: who, in priority order (1 = head)."""

    __tablename__ = "waitlist_entries"
    __table_args__ = (Index("ix_waitlist_entries_reference", "reference"),)

    round_id: Mapped[str] = mapped_column(ForeignKey("rounds.round_id"), primary_key=True)
    school_code: Mapped[str] = mapped_column(String(20), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32))


class ExportChunk(Base):
    """The results export (engine.export_csv) of the round's allocation, in order; each
    part is zlib-compressed UTF-8 (a city's export is some 25 MB of CSV)."""

    __tablename__ = "export_chunks"

    round_id: Mapped[str] = mapped_column(ForeignKey("rounds.round_id"), primary_key=True)
    chunk: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class EstimateRun(Base):
    """The latest batch of estimate draws of an open round (see engine.estimate).

    `seats` maps each school to [its seats this round, seats left free summed over the draws].
    """

    __tablename__ = "estimate_runs"

    round_id: Mapped[str] = mapped_column(ForeignKey("rounds.round_id"), primary_key=True)
    draws: Mapped[int] = mapped_column(Integer)
    applications: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    seconds: Mapped[float] = mapped_column(Float)
    seats: Mapped[dict[str, list[int]]] = mapped_column(JSON)


class EstimateSchool(Base):
    """One school and engine tier of the latest batch: applicants listing the school with
    that tier (live demand), first choices, admissions summed over the draws, and the draws
    in which at least one child of the tier was admitted."""

    __tablename__ = "estimate_schools"

    round_id: Mapped[str] = mapped_column(ForeignKey("rounds.round_id"), primary_key=True)
    school_code: Mapped[str] = mapped_column(String(20), primary_key=True)
    tier: Mapped[int] = mapped_column(Integer, primary_key=True)
    applicants: Mapped[int] = mapped_column(Integer)
    first_choice: Mapped[int] = mapped_column(Integer)
    admitted: Mapped[int] = mapped_column(Integer)
    reached: Mapped[int] = mapped_column(Integer)


class EstimateChance(Base):
    """One application's counts in the latest batch: admitted at each choice, placed by the
    guarantee, unplaced. Read by its own family only."""

    __tablename__ = "estimate_chances"
    __table_args__ = (Index("ix_estimate_chances_round", "round_id"),)

    reference: Mapped[str] = mapped_column(String(32), primary_key=True)
    round_id: Mapped[str] = mapped_column(ForeignKey("rounds.round_id"))
    draws: Mapped[int] = mapped_column(Integer)
    choices: Mapped[list[int]] = mapped_column(JSON)
    guarantee: Mapped[int] = mapped_column(Integer)
    unplaced: Mapped[int] = mapped_column(Integer)
