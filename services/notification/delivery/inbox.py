"""The in-app inbox: each notice stored once (see `ledger.claim`) for the parent to read."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.notification.models import Delivery, InboxMessage
from services.notification.rendering.notices import Notice
from services.notification.rendering.render import Email


def row_for(notice: Notice, email: Email) -> dict[str, Any]:
    """The inbox copy of a notice (values of an `inbox_messages` row): the e-mail's words."""
    return {
        "event_id": notice.event_id,
        "reference": notice.reference,
        "template": notice.template,
        "language": notice.language,
        "subject": email.subject[:200],
        "body": email.text,
        "created_at": datetime.now(UTC),
        "round_id": notice.context.get("round_id"),
    }


def discard_round(session: Session, round_id: str) -> None:
    """Delete the notices of a wiped practice round and their ledger rows (a practice round
    sends to the inbox only, so its inbox rows name every event it caused). Idempotent."""
    events = select(InboxMessage.event_id).where(InboxMessage.round_id == round_id)
    session.execute(delete(Delivery).where(Delivery.event_id.in_(events)))
    session.execute(delete(InboxMessage).where(InboxMessage.round_id == round_id))


def messages_of(session: Session, *references: str) -> list[dict[str, Any]]:
    """The inbox of one or more applications, newest first."""
    rows = session.scalars(
        select(InboxMessage)
        .where(InboxMessage.reference.in_(references))
        .order_by(InboxMessage.id.desc())
    )
    return [
        {
            "event_id": row.event_id,
            "reference": row.reference,
            "template": row.template,
            "language": row.language,
            "subject": row.subject,
            "body": row.body,
            "created_at": row.created_at.isoformat(),
        }
        for row in rows
    ]
