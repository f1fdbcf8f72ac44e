"""Recipients as the ledger knows them: a keyed hash, never the address, and the SMS daily cap.

The cap counts a phone's SMS in the city's calendar day under a lock on that phone's key, so
two batches cannot both pass it; the login codes (`otp`) take the same lock for their limits.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.notification.models import Delivery
from services.notification.policy import COUNTED, city_day_start


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


def over_daily_cap(
    session: Session, key: str, cap: int, now: datetime, counted: Counter[str]
) -> bool:
    """Whether one more SMS to `key` today would pass `cap`; if not, it is counted in
    `counted` (the SMS this transaction already claimed, per recipient)."""
    if sent_today(session, key, now) + counted[key] >= cap:
        return True
    counted[key] += 1
    return False


def sent_today(session: Session, key: str, now: datetime) -> int:
    """SMS to `key` that cost (or may have cost) since the city's midnight, under its lock:
    a concurrent batch counts after this one committed."""
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
