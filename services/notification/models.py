"""The notification database: one row per message delivered (or failed) on one channel."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db.types import UtcDateTime


class Base(DeclarativeBase):
    """Declarative base of the notification database."""


class Delivery(Base):
    """A notification about one event, on one channel: the dedup key is (event, channel)."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("event_id", "channel", name="once_per_event_and_channel"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36))
    channel: Mapped[str] = mapped_column(String(10))
    template: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str] = mapped_column(String(32), index=True)
    recipient: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(12))
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime)
