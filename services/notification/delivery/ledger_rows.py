"""The ledger's rows: which exist for a batch, their values when new, and reading them back.

See `ledger` for what each status means and when a row is claimed and settled.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from services.notification.delivery.writes import Writes
from services.notification.models import Delivery, InboxMessage
from services.notification.policy import FAILED, SENDING, SENT
from services.notification.rendering.notices import Notice

INBOX, INBOX_TRANSPORT = "inbox", "db"
DELIVERIES = cast(Table, Delivery.__table__)
INBOX_TABLE = cast(Table, InboxMessage.__table__)
# (event, channel) -> status of the rows that existed when a batch began.
Known = Mapping[tuple[str, str], str]


def existing(session: Session, event_ids: Collection[str]) -> dict[tuple[str, str], str]:
    """The rows the events already have, on every channel (read without a lock, once per
    batch: `claim` locks and reads again wherever one of them is involved)."""
    if not event_ids:
        return {}
    columns = DELIVERIES.c
    query = select(columns.event_id, columns.channel, columns.status)
    rows = session.execute(query.where(columns.event_id.in_(sorted(event_ids))))
    return {(event_id, channel): status for event_id, channel, status in rows}


def locked_rows(
    writes: Writes, keys: set[tuple[str, str]], rows_before: Known | None
) -> dict[tuple[str, str], str]:
    """The rows of these (event, channel) keys, locked; none to read if none existed when the
    batch began (a row a concurrent copy inserted since makes the insert fail)."""
    if rows_before is not None and keys.isdisjoint(rows_before):
        return {}
    writes.flush()
    columns = DELIVERIES.c
    channels = {channel for _, channel in keys}
    query = select(columns.event_id, columns.channel, columns.status).where(
        columns.event_id.in_(sorted({event_id for event_id, _ in keys})),
        columns.channel.in_(sorted(channels)),
    )
    rows = writes.session.execute(query.with_for_update())
    return {(e, c): s for e, c, s in rows}


def inbox_row(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The ledger row of an inbox copy (values of `inbox.row_for`): sent as it is stored."""
    notice = Notice(row["event_id"], row["template"], row["reference"], row["language"], {})
    return row_of(notice, INBOX, INBOX_TRANSPORT, None, SENT, now)


def row_of(
    notice: Notice, channel: str, transport: str, key: str | None, status: str, now: datetime
) -> dict[str, Any]:
    """A new delivery row (its values) for one notice on one channel."""
    return {
        "event_id": notice.event_id,
        "channel": channel,
        "transport": transport,
        "template": notice.template,
        "reference": notice.reference,
        "recipient_key": key,
        "language": notice.language,
        "status": status,
        "attempts": 1 if status in (SENDING, SENT) else 0,
        "last_error": "invalid_recipient" if status == FAILED else None,
        "created_at": now,
        "updated_at": now,
        "sent_at": now if status == SENT else None,
    }


def deliveries_of(session: Session, reference: str) -> list[dict[str, Any]]:
    """Every delivery about one application, oldest first, without any recipient."""
    rows = session.scalars(
        select(Delivery).where(Delivery.reference == reference).order_by(Delivery.id)
    )
    return [
        {
            "event_id": row.event_id,
            "template": row.template,
            "channel": row.channel,
            "transport": row.transport,
            "language": row.language,
            "status": row.status,
            "attempts": row.attempts,
            "last_error": row.last_error,
            "created_at": row.created_at.isoformat(),
            "updated_at": row.updated_at.isoformat(),
            "sent_at": row.sent_at.isoformat() if row.sent_at else None,
        }
        for row in rows
    ]
