"""Sends per UTC minute, channel and status, counted in the commit that records them.

The ledger adds to these when it settles a chunk of sends (`sent`, `deferred`, `failed`) and
when it decides a status without sending (`failed` for an unusable contact, `uncertain`,
`suppressed_cap`). The inbox is not counted: it always gets everything. The department's
live page sums a few minutes' rows instead of reading the deliveries.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from services.notification.models import NoticeTally
from shared.db.counts import minute_of

TABLE = cast(Table, NoticeTally.__table__)
NOT_COUNTED = frozenset({"inbox"})


def added(now: datetime, ended: Iterable[tuple[str, str]]) -> dict[tuple[str, str, str], int]:
    """What to add for the sends that ended now, given as `(channel, status)` pairs (one per
    send): `{(minute, channel, status): sends}`, to add to `TABLE` in the same commit."""
    minute = minute_of(now)
    counts = Counter((minute, channel, status) for channel, status in ended)
    return {key: n for key, n in counts.items() if key[1] not in NOT_COUNTED}


def since(session: Session, moment: datetime) -> dict[str, dict[str, int]]:
    """`{channel: {status: sends}}` from the minute `moment` falls in until now."""
    query = (
        select(NoticeTally.channel, NoticeTally.status, func.sum(NoticeTally.n))
        .where(NoticeTally.minute >= minute_of(moment))
        .group_by(NoticeTally.channel, NoticeTally.status)
    )
    found: dict[str, dict[str, int]] = {}
    for channel, status, n in session.execute(query):
        found.setdefault(channel, {})[status] = int(n or 0)
    return found
