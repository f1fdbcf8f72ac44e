"""The notification database: deliveries per event and channel, the in-app inbox, login codes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db.types import UtcDateTime


class Base(DeclarativeBase):
    """Declarative base of the notification database."""


class Delivery(Base):
    """A notice about one event on one channel; the dedup key is (event, channel).

    The recipient is kept only as a keyed hash (`recipient_key`): enough to count SMS per
    phone for the daily cap, never the address or number itself.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "channel", name="once_per_event_and_channel"),
        Index("ix_deliveries_recipient_day", "recipient_key", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36))
    channel: Mapped[str] = mapped_column(String(10))
    transport: Mapped[str] = mapped_column(String(10))
    template: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str] = mapped_column(String(32), index=True)
    recipient_key: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class NoticeTally(Base):
    """How many sends on a channel ended in a status in one UTC minute (`2027-06-01T08:05`),
    added to in the commit that records them (services/notification/tallies.py): the
    department's live page reads these, never the deliveries."""

    __tablename__ = "notice_tallies"

    minute: Mapped[str] = mapped_column(String(16), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class InboxMessage(Base):
    """A notice as the parent reads it in the portal's inbox."""

    __tablename__ = "inbox_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    reference: Mapped[str] = mapped_column(String(32), index=True)
    template: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(2))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The round of the application, so a wiped practice round takes its notices with it.
    round_id: Mapped[str | None] = mapped_column(String(40), index=True, nullable=True)


class ContactPreference(Base):
    """How a parent account wants to be told: the language, and which channels besides the
    inbox (which always gets everything). No row: the language of each application, and
    both channels."""

    __tablename__ = "contact_preferences"

    owner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    language: Mapped[str] = mapped_column(String(2))
    email: Mapped[bool] = mapped_column(Boolean)
    sms: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class OtpSend(Base):
    """One login code sent (or tried) to a phone, for the rate limits; never the code."""

    __tablename__ = "otp_sends"
    __table_args__ = (Index("ix_otp_sends_recipient_time", "recipient_key", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recipient_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    last_error: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
