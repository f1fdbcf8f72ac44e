"""Recipients as the ledger knows them: a keyed hash, never the address, and the SMS daily cap.

The cap counts a phone's SMS in the city's calendar day under a lock on that phone's key, so
two batches cannot both pass it; the login codes (`otp`) take the same lock for their limits.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from services.notification.models import Delivery
from services.notification.policy import COUNTED, city_day_start


def recipient_key(secret: str, address: str) -> str:
    """A keyed hash of an address or phone: stable for counting, useless for contacting."""
    digest = hmac.new(secret.encode(), address.strip().lower().encode(), hashlib.sha256)
    return digest.hexdigest()[:64]


def lock_recipient(session: Session, key: str) -> None:
    """Serialise counting for one recipient until the transaction ends (PostgreSQL)."""
    lock_recipients(session, [key])


def lock_recipients(session: Session, keys: Iterable[str]) -> None:
    """Serialise counting for these recipients until the transaction ends, in one round trip.

    The locks are taken in one order (their numbers, ascending), whoever takes them, so two
    batches sharing recipients never deadlock. SQLite needs nothing: one connection per
    process, and it serialises writers anyway.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    numbers = sorted({int.from_bytes(bytes.fromhex(key[:16]), "big", signed=True) for key in keys})
    if numbers:
        # A function scan yields the array in its order: the locks follow `numbers`.
        query = text("SELECT pg_advisory_xact_lock(n) FROM unnest(CAST(:numbers AS bigint[])) n")
        session.execute(query, {"numbers": numbers})


def sent_today(session: Session, keys: Iterable[str], now: datetime) -> Counter[str]:
    """SMS per recipient key that cost (or may have cost) since the city's midnight, under the
    keys' locks: a concurrent batch counts after this one committed. One lock statement and
    one count for the whole batch, however many recipients it has."""
    wanted = sorted(set(keys))
    if not wanted:
        return Counter()
    lock_recipients(session, wanted)
    rows = session.execute(
        select(Delivery.recipient_key, func.count(Delivery.id))
        .where(
            Delivery.channel == "sms",
            Delivery.recipient_key.in_(wanted),
            Delivery.status.in_(COUNTED),
            Delivery.created_at >= city_day_start(now),
        )
        .group_by(Delivery.recipient_key)
    )
    return Counter({key: int(count) for key, count in rows})
