"""The delivery ledger: one row per (event, channel), claimed before the send, settled after.

How a send happens exactly once as the parent sees it:

1. `claim` commits, in one transaction per event, the inbox copy with its row (`sent`: the
   inbox is exactly once with no window at all) and a row in `sending` for each channel to
   send, before anything leaves. A row that already exists decides instead: `sent`,
   `failed`, `suppressed_cap` and `uncertain` are final and nothing is sent; `deferred` (the
   last try failed transiently) is taken over for another try.
2. The transport sends.
3. `settle` commits `sent`, `deferred` (retry later) or `failed` (never retry), channel by
   channel as each send ends.

If the process dies between 1 and 3 the row stays `sending`, and a redelivery cannot know
whether the parent got the message. We never send it again: the row becomes `uncertain`
(visible in `list_deliveries` with error `interrupted`), because a parent told twice about
a seat, or billed SMS twice, is the failure the issue is about, and the window is the few
milliseconds between the server's reply and our commit.

No age threshold is used for `sending`: a row found `sending` belongs either to a dead
process, or to a live one (handling a duplicate copy of the event right now, or cut off from
the broker mid-send). A live one settles the row itself, overwriting `uncertain`; a dead
one leaves it `uncertain`. Waiting for an age would only delay the answer: whatever the age,
the outcome of that send is unknown, and resending is the one thing we will not do.

Two commits per channel per event would be simpler to read; at publish time (a quarter of a
million offers) every commit is an fsync, so the claims of an event share one.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.notification.models import Delivery, InboxMessage
from services.notification.notices import Notice
from services.notification.policy import (
    COUNTED,
    DEFERRED,
    FAILED,
    SENDING,
    SENT,
    SUPPRESSED_CAP,
    UNCERTAIN,
    city_day_start,
)

log = logging.getLogger(__name__)

INBOX, INBOX_TRANSPORT = "inbox", "db"
# Core tables: inserting through them skips the ORM's bulk machinery (a third of the claim).
DELIVERIES = cast(Table, Delivery.__table__)
INBOX_TABLE = cast(Table, InboxMessage.__table__)


def recipient_key(secret: str, address: str) -> str:
    """A keyed hash of an address or phone: stable for counting, useless for contacting."""
    digest = hmac.new(secret.encode(), address.strip().lower().encode(), hashlib.sha256)
    return digest.hexdigest()[:64]


def lock_recipient(session: Session, key: str) -> None:
    """Serialise counting for one recipient until the transaction ends (PostgreSQL).

    SQLite needs nothing: one connection per process, and it serialises writers anyway.
    """
    if session.get_bind().dialect.name == "postgresql":
        number = int.from_bytes(bytes.fromhex(key[:16]), "big", signed=True)
        session.execute(select(func.pg_advisory_xact_lock(number)))


@dataclass(frozen=True)
class Plan:
    """A channel to send an event's notice on: its transport and the recipient's key.

    `key` is None when the contact is unusable (an invalid phone): the row is recorded
    `failed`. `daily_cap` (SMS only) suppresses the send past that many in a city day.
    """

    channel: str
    transport: str
    key: str | None
    daily_cap: int | None = None


def claim(
    session: Session,
    notice: Notice,
    plans: Sequence[Plan],
    inbox: dict[str, Any] | None = None,
) -> set[str]:
    """In one transaction: store the inbox copy if it is new, and claim each planned send.

    Returns the channels now `sending`: exactly the sends this worker must make. Plain SQL
    statements rather than ORM objects: this runs once per event at publish time.
    """
    now = datetime.now(UTC)
    query = select(Delivery.channel, Delivery.status).where(Delivery.event_id == notice.event_id)
    existing = dict(session.execute(query.with_for_update()).tuples().all())
    new_rows, claimed = [], set()
    try:
        if inbox is not None and INBOX not in existing:
            session.execute(insert(INBOX_TABLE), [inbox])
            new_rows.append(_row(notice, INBOX, INBOX_TRANSPORT, None, SENT, now))
        for plan in plans:
            status = existing.get(plan.channel)
            if status is None:
                status = _first_status(session, plan, now)
                new_rows.append(_row(notice, plan.channel, plan.transport, plan.key, status, now))
            elif status == DEFERRED:
                status = SENDING
                values = {"status": status, "transport": plan.transport, "updated_at": now}
                _update(session, notice.event_id, plan.channel, **values)
            elif status == SENDING:
                status = UNCERTAIN
                values = {"status": status, "last_error": "interrupted", "updated_at": now}
                _update(session, notice.event_id, plan.channel, **values)
            else:
                continue
            if status == SENDING:
                claimed.add(plan.channel)
            else:
                _log(notice, plan.channel, status)
        if new_rows:
            session.execute(insert(DELIVERIES), new_rows)
        session.commit()
    except IntegrityError:
        session.rollback()  # a concurrent copy of the event claimed first; it sends
        return set()
    return claimed


def settle(
    session: Session, event_id: str, channel: str, status: str, error: str | None = None
) -> None:
    """Record how a claimed send ended: `sent`, `deferred` or `failed`."""
    now = datetime.now(UTC)
    values: dict[str, Any] = {"status": status, "last_error": error, "updated_at": now}
    if status == SENT:
        values["sent_at"] = now
    _update(session, event_id, channel, **values)
    session.commit()


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


def _row(
    notice: Notice, channel: str, transport: str, key: str | None, status: str, now: datetime
) -> dict[str, Any]:
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


def _update(session: Session, event_id: str, channel: str, **values: Any) -> None:
    if values.get("status") == SENDING:
        values["attempts"] = Delivery.attempts + 1  # another try of a deferred send
    statement = (
        update(Delivery)
        .where(Delivery.event_id == event_id, Delivery.channel == channel)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.execute(statement)


def _first_status(session: Session, plan: Plan, now: datetime) -> str:
    if plan.key is None:
        return FAILED
    if plan.daily_cap is not None and _over_cap(session, plan.key, plan.daily_cap, now):
        return SUPPRESSED_CAP
    return SENDING


def _log(notice: Notice, channel: str, status: str) -> None:
    log.warning(
        "delivery %s: event=%s reference=%s template=%s channel=%s",
        status,
        notice.event_id,
        notice.reference,
        notice.template,
        channel,
    )


def _over_cap(session: Session, key: str, cap: int, now: datetime) -> bool:
    lock_recipient(session, key)
    count = session.scalar(
        select(func.count(Delivery.id)).where(
            Delivery.channel == "sms",
            Delivery.recipient_key == key,
            Delivery.status.in_(COUNTED),
            Delivery.created_at >= city_day_start(now),
        )
    )
    return int(count or 0) >= cap
