"""The delivery ledger: one row per (event, channel), claimed before the send, settled after.

How a send happens exactly once as the parent sees it, one channel at a time:

1. `claim` commits a row in `sending` for each event to send on one channel, before anything
   leaves (the first claim of a batch also stores the inbox copies with their rows, `sent`:
   the inbox is exactly once with no window at all). A row that already exists decides
   instead: `sent`, `failed`, `suppressed_cap` and `uncertain` are final and nothing is sent;
   `deferred` (the last try failed transiently) is taken over for another try.
2. The transport sends.
3. `settle` commits `sent`, `deferred` (retry later) or `failed` (never retry), in the same
   commit as the next chunk's claim when there is one.

Only then is the next channel claimed. If the process or the database dies between 1 and 3,
the rows of that one channel stay `sending`, and a redelivery cannot know whether the parent
got those messages. We never send them again: they become `uncertain` (visible in
`list_deliveries` with error `interrupted`), because a parent told twice about a seat, or
billed SMS twice, is the failure the issue is about. The channels not yet claimed were not
touched, so the redelivery sends them normally. (Claiming every channel up front saved a
commit, and lost the SMS of every event whose e-mail was in flight when PostgreSQL died:
chaos scenario 3.)

No age threshold is used for `sending`: a row found `sending` belongs either to a dead
process, or to a live one (handling a duplicate copy of the event right now, or cut off from
the database mid-send). A live one settles the row itself, overwriting `uncertain`; a dead
one leaves it `uncertain`. Waiting for an age would only delay the answer: whatever the age,
the outcome of that send is unknown, and resending is the one thing we will not do.

Claims and settlements take several events at once: at publish time (a quarter of a million
offers) every commit is an fsync, so the events sent together on one channel (as many as the
transport's connections, see `notifier`) share them.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.notification import tallies
from services.notification.metrics import record_decision
from services.notification.models import Delivery, InboxMessage
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
from services.notification.rendering.notices import Notice

log = logging.getLogger(__name__)

INBOX, INBOX_TRANSPORT = "inbox", "db"
# Core tables: the hot statements skip the ORM's machinery (a third of the claim).
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


@dataclass(frozen=True)
class Outcome:
    """How one claimed send ended: its status and, unless sent, a reason code."""

    event_id: str
    status: str
    error: str | None = None


@dataclass(frozen=True)
class Settlement:
    """How the sends of one chunk on `channel` ended, to record with the next claim."""

    channel: str
    outcomes: Sequence[Outcome]


def claim(
    session: Session,
    sends: Sequence[tuple[Notice, Plan]],
    inbox: Sequence[dict[str, Any]] = (),
    settling: Settlement | None = None,
) -> set[str]:
    """Claim the sends of a batch on one channel (and store new inbox copies); commits.

    `settling`, the outcomes of the chunk sent just before, is recorded in the same commit:
    one commit per chunk instead of two, and the outcomes are still committed before anything
    is acked. Returns the ids of the events now `sending` on that channel: exactly the sends
    this worker must make. If a concurrent copy of one of the events claimed first, the batch
    is claimed again event by event, and that event is left to the copy.
    """
    try:
        ended = _settle(session, settling.channel, settling.outcomes) if settling else []
        claimed = _claim(session, sends, inbox, ended)
        _commit(session, ended)
        return claimed
    except IntegrityError:
        session.rollback()
    if settling is not None:
        settle(session, settling.channel, settling.outcomes)
    claimed = set()
    for event_id in dict.fromkeys([n.event_id for n, _ in sends] + [r["event_id"] for r in inbox]):
        try:
            ended = []
            claimed |= _claim(
                session,
                [send for send in sends if send[0].event_id == event_id],
                [row for row in inbox if row["event_id"] == event_id],
                ended,
            )
            _commit(session, ended)
        except IntegrityError:
            session.rollback()  # a concurrent copy of the event claimed first; it sends
    return claimed


def settle(session: Session, channel: str, outcomes: Sequence[Outcome]) -> None:
    """Record how claimed sends on `channel` ended (`sent`, `deferred` or `failed`); commits."""
    _commit(session, _settle(session, channel, outcomes))


def _commit(session: Session, ended: list[tuple[str, str]]) -> None:
    # The counts last, just before the commit: a transaction holding their rows then waits
    # on nothing else, and one statement takes them in key order, so none deadlocks on them.
    tallies.count(session, datetime.now(UTC), ended)
    session.commit()


def _settle(session: Session, channel: str, outcomes: Sequence[Outcome]) -> list[tuple[str, str]]:
    now = datetime.now(UTC)
    groups: dict[tuple[str, str | None], list[str]] = defaultdict(list)
    for outcome in outcomes:
        groups[(outcome.status, outcome.error)].append(outcome.event_id)
    for (status, error), event_ids in groups.items():
        values: dict[str, Any] = {"status": status, "last_error": error, "updated_at": now}
        if status == SENT:
            values["sent_at"] = now
        _update(session, event_ids, channel, **values)
    return [(channel, outcome.status) for outcome in outcomes]


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


def _claim(
    session: Session,
    sends: Sequence[tuple[Notice, Plan]],
    inbox: Sequence[dict[str, Any]],
    ended: list[tuple[str, str]],
) -> set[str]:
    # Plain SQL statements rather than ORM objects: this runs for every event at publish time.
    now = datetime.now(UTC)
    channels = {plan.channel for _, plan in sends}
    event_ids = {notice.event_id for notice, _ in sends} | {row["event_id"] for row in inbox}
    columns = DELIVERIES.c
    query = select(columns.event_id, columns.channel, columns.status).where(
        columns.event_id.in_(sorted(event_ids)), columns.channel.in_([INBOX, *channels])
    )
    existing = {(e, c): s for e, c, s in session.execute(query.with_for_update())}
    fresh = [row for row in inbox if (row["event_id"], INBOX) not in existing]
    if fresh:
        session.execute(insert(INBOX_TABLE), fresh)
    new_rows = [_inbox_row(row, now) for row in fresh]
    retried: dict[str, list[str]] = defaultdict(list)
    interrupted: dict[str, list[str]] = defaultdict(list)
    counted: Counter[str] = Counter()  # SMS this batch already claimed, per recipient
    claimed = set()
    # In recipient order: the cap's per-recipient locks are then always taken in one order.
    for notice, plan in sorted(sends, key=lambda send: send[1].key or ""):
        status = existing.get((notice.event_id, plan.channel))
        if status is None:
            status = _first_status(session, plan, now, counted)
            new_rows.append(_row(notice, plan.channel, plan.transport, plan.key, status, now))
        elif status == DEFERRED:
            status = SENDING
            retried[plan.channel].append(notice.event_id)
        elif status == SENDING:
            status = UNCERTAIN
            interrupted[plan.channel].append(notice.event_id)
        else:
            continue
        if status == SENDING:
            claimed.add(notice.event_id)
        else:
            _log(notice, plan.channel, status)
            record_decision(session, notice.template, plan.channel, status)
            ended.append((plan.channel, status))
    transports = {plan.channel: plan.transport for _, plan in sends}
    for channel, ids in retried.items():
        _update(
            session, ids, channel, status=SENDING, transport=transports[channel], updated_at=now
        )
    for channel, ids in interrupted.items():
        _update(session, ids, channel, status=UNCERTAIN, last_error="interrupted", updated_at=now)
    if new_rows:
        session.execute(insert(DELIVERIES), new_rows)
    return claimed


def _inbox_row(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    notice = Notice(row["event_id"], row["template"], row["reference"], row["language"], {})
    return _row(notice, INBOX, INBOX_TRANSPORT, None, SENT, now)


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


def _update(session: Session, event_ids: Sequence[str], channel: str, **values: Any) -> None:
    columns = DELIVERIES.c
    if values.get("status") == SENDING:
        values["attempts"] = columns.attempts + 1  # another try of a deferred send
    # Core, like the inserts: the ORM's bulk-update machinery was a third of `settle`.
    statement = (
        update(DELIVERIES)
        .where(columns.event_id.in_(event_ids), columns.channel == channel)
        .values(**values)
    )
    session.execute(statement)


def _first_status(session: Session, plan: Plan, now: datetime, counted: Counter[str]) -> str:
    if plan.key is None:
        return FAILED
    if plan.daily_cap is not None:
        if _sent_today(session, plan.key, now) + counted[plan.key] >= plan.daily_cap:
            return SUPPRESSED_CAP
        counted[plan.key] += 1
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


def _sent_today(session: Session, key: str, now: datetime) -> int:
    # Under the recipient's lock: a concurrent batch counts after this one committed.
    lock_recipient(session, key)
    count = session.scalar(
        select(func.count(Delivery.id)).where(
            Delivery.channel == "sms",
            Delivery.recipient_key == key,
            Delivery.status.in_(COUNTED),
            Delivery.created_at >= city_day_start(now),
        )
    )
    return int(count or 0)
