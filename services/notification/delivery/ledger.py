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
transport's connections, see `notifier`) share them. A chunk's writes go to PostgreSQL in one
round trip (`writes`), and a chunk none of whose rows existed when its batch began (read once
per batch, `ledger_rows.existing`) skips the locked read: if a concurrent copy of an event
inserted its row since, the insert fails on the (event, channel) key, and the chunk is claimed
again event by event with the lock (see `claim`).
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.notification import tallies
from services.notification.delivery.ledger_rows import (
    DELIVERIES,
    INBOX,
    INBOX_TABLE,
    Known,
    inbox_row,
    locked_rows,
    row_of,
)
from services.notification.delivery.recipients import sent_today
from services.notification.delivery.writes import INCREMENT, Writes
from services.notification.metrics import record_decision
from services.notification.policy import DEFERRED, FAILED, SENDING, SENT, SUPPRESSED_CAP, UNCERTAIN
from services.notification.rendering.notices import Notice

log = logging.getLogger(__name__)


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
    rows_before: Known | None = None,
) -> set[str]:
    """Claim the sends of a batch on one channel (and store new inbox copies); commits.

    `settling`, the outcomes of the chunk sent just before, is recorded in the same commit:
    one commit per chunk instead of two, and the outcomes are still committed before anything
    is acked. `rows_before` (from `ledger_rows.existing`) lets a chunk with no rows yet skip the
    locked read. Returns the ids of the events now `sending` on that channel: exactly the
    sends this worker must make. If a concurrent copy of one of the events claimed first, the
    batch is claimed again event by event, and that event is left to the copy.
    """
    try:
        writes = Writes(session)
        ended = _settle(writes, settling.channel, settling.outcomes) if settling else []
        claimed = _claim(writes, sends, inbox, ended, rows_before)
        _commit(writes, ended)
        return claimed
    except IntegrityError:
        session.rollback()
    if settling is not None:
        settle(session, settling.channel, settling.outcomes)
    claimed = set()
    for event_id in dict.fromkeys([n.event_id for n, _ in sends] + [r["event_id"] for r in inbox]):
        try:
            writes, ended = Writes(session), []
            claimed |= _claim(
                writes,
                [send for send in sends if send[0].event_id == event_id],
                [row for row in inbox if row["event_id"] == event_id],
                ended,
                None,
            )
            _commit(writes, ended)
        except IntegrityError:
            session.rollback()  # a concurrent copy of the event claimed first; it sends
    return claimed


def settle(session: Session, channel: str, outcomes: Sequence[Outcome]) -> None:
    """Record how claimed sends on `channel` ended (`sent`, `deferred` or `failed`); commits."""
    writes = Writes(session)
    _commit(writes, _settle(writes, channel, outcomes))


def _commit(writes: Writes, ended: list[tuple[str, str]]) -> None:
    # The counts last, just before the commit: a transaction holding their rows then waits
    # on nothing else, and one statement takes them in key order, so none deadlocks on them.
    writes.add_counts(tallies.TABLE, tallies.added(datetime.now(UTC), ended))
    writes.commit()


def _settle(writes: Writes, channel: str, outcomes: Sequence[Outcome]) -> list[tuple[str, str]]:
    now = datetime.now(UTC)
    groups: dict[tuple[str, str | None], list[str]] = defaultdict(list)
    for outcome in outcomes:
        groups[(outcome.status, outcome.error)].append(outcome.event_id)
    for (status, error), event_ids in groups.items():
        values: dict[str, Any] = {"status": status, "last_error": error, "updated_at": now}
        if status == SENT:
            values["sent_at"] = now
        writes.update(DELIVERIES, event_ids, channel, values)
    return [(channel, outcome.status) for outcome in outcomes]


def _claim(
    writes: Writes,
    sends: Sequence[tuple[Notice, Plan]],
    inbox: Sequence[dict[str, Any]],
    ended: list[tuple[str, str]],
    rows_before: Known | None,
) -> set[str]:
    now = datetime.now(UTC)
    keys = {(notice.event_id, plan.channel) for notice, plan in sends}
    existing = locked_rows(writes, keys | {(row["event_id"], INBOX) for row in inbox}, rows_before)
    fresh = [row for row in inbox if (row["event_id"], INBOX) not in existing]
    writes.insert(INBOX_TABLE, fresh)
    new_rows = [inbox_row(row, now) for row in fresh]
    retried: dict[str, list[str]] = defaultdict(list)
    interrupted: dict[str, list[str]] = defaultdict(list)
    # SMS per capped recipient: those sent today (one locked count for the chunk), then those
    # this chunk claims.
    counted = _sent_today(
        writes, [plan for n, plan in sends if (n.event_id, plan.channel) not in existing], now
    )
    claimed = set()
    for notice, plan in sends:
        status = existing.get((notice.event_id, plan.channel))
        if status is None:
            status = _first_status(plan, counted)
            new_rows.append(row_of(notice, plan.channel, plan.transport, plan.key, status, now))
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
            log_delivery(status, notice.event_id, notice.reference, notice.template, plan.channel)
            record_decision(writes.session, notice.template, plan.channel, status)
            ended.append((plan.channel, status))
    transports = {plan.channel: plan.transport for _, plan in sends}
    for channel, ids in retried.items():
        again = {"status": SENDING, "transport": transports[channel], "updated_at": now}
        writes.update(DELIVERIES, ids, channel, {**again, "attempts": INCREMENT})
    for channel, ids in interrupted.items():
        lost = {"status": UNCERTAIN, "last_error": "interrupted", "updated_at": now}
        writes.update(DELIVERIES, ids, channel, lost)
    writes.insert(DELIVERIES, new_rows)
    return claimed


def _sent_today(writes: Writes, new: Sequence[Plan], now: datetime) -> Counter[str]:
    keys = [plan.key for plan in new if plan.key is not None and plan.daily_cap is not None]
    if not keys:
        return Counter()
    writes.flush()  # the count must see this transaction's writes so far
    return sent_today(writes.session, keys, now)


def _first_status(plan: Plan, counted: Counter[str]) -> str:
    """`counted`: SMS per recipient today, this chunk's claims included (updated here)."""
    if plan.key is None:
        return FAILED
    if plan.daily_cap is not None:
        if counted[plan.key] >= plan.daily_cap:
            return SUPPRESSED_CAP
        counted[plan.key] += 1
    return SENDING


def log_delivery(
    status: str, event_id: str, reference: str | None, template: str, channel: str, error: str = ""
) -> None:
    """One line for a send that did not simply go out: IDs and codes, never an address."""
    log.warning(
        "delivery %s: event=%s reference=%s template=%s channel=%s%s",
        status,
        event_id,
        reference,
        template,
        channel,
        f" error={error}" if error else "",
    )
