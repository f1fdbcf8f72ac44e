"""The allocation database: rounds, wards, and the schools with their catchments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db.types import UtcDateTime


class Base(DeclarativeBase):
    """Declarative base of the allocation database."""


class Round(Base):
    """One admission round for one level and year."""

    __tablename__ = "rounds"

    round_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    level: Mapped[str] = mapped_column(String(20))
    year: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    max_preferences: Mapped[int] = mapped_column(Integer, default=3)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class Ward(Base):
    """An administrative ward (phường/xã) with its official code and name."""

    __tablename__ = "wards"

    code: Mapped[str] = mapped_column(String(10), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))


class School(Base):
    """A public school of one level, its seats and the wards it serves."""

    __tablename__ = "schools"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(20), index=True)
    capacity: Mapped[int] = mapped_column(Integer)
    ward_code: Mapped[str] = mapped_column(String(10))
    catchment: Mapped[list[str]] = mapped_column(JSON)
