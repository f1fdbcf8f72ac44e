"""Help points: what a help desk registered for a family without an account, and the identity
check it made in person.

A row names the application (reference), the officer and the help point they were bound to,
the family account the application belongs to, and which document was seen: its kind and
the last digits of its number, never the whole number. The officer follows these
applications, and only these (gateway/api/helpdesk.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from gateway.db import Base, utcnow

DOCUMENT_KINDS = ("citizen_id_card", "passport", "birth_certificate", "residence_paper")
LAST_DIGITS = 4  # of the document's number: enough to tell which paper, not to be one


class HelpPointRegistration(Base):
    """One application a help desk registered (or amended) for a family."""

    __tablename__ = "help_point_registrations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), index=True)
    round_id: Mapped[str] = mapped_column(String(40))
    officer_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    help_point: Mapped[str] = mapped_column(String(40))
    owner_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    document_kind: Mapped[str] = mapped_column(String(20))
    document_last_digits: Mapped[str] = mapped_column(String(LAST_DIGITS))
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def record(
    session: Session,
    *,
    reference: str,
    round_id: str,
    officer_id: str,
    help_point: str,
    owner_id: str,
    document_kind: str,
    document_last_digits: str,
) -> HelpPointRegistration:
    """Keep what the officer registered and which paper they saw."""
    row = HelpPointRegistration(
        id=str(uuid.uuid4()),
        reference=reference,
        round_id=round_id,
        officer_id=officer_id,
        help_point=help_point,
        owner_id=owner_id,
        document_kind=document_kind,
        document_last_digits=document_last_digits,
        registered_at=utcnow(),
    )
    session.add(row)
    return row


def registered_by(
    session: Session, officer_id: str, help_point: str, reference: str | None = None
) -> list[HelpPointRegistration]:
    """The officer's registrations at their help point (one reference's, if given), newest
    first, one row per application (its latest)."""
    query = select(HelpPointRegistration).where(
        HelpPointRegistration.officer_id == officer_id,
        HelpPointRegistration.help_point == help_point,
    )
    if reference is not None:
        query = query.where(HelpPointRegistration.reference == reference)
    rows = session.scalars(query.order_by(HelpPointRegistration.registered_at.desc()).limit(500))
    latest: dict[str, HelpPointRegistration] = {}
    for row in rows:
        latest.setdefault(row.reference, row)
    return list(latest.values())
