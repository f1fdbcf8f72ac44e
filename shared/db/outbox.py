"""The transactional outbox: events are rows written with the state change, relayed after commit."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from shared.db.tables import outbox
from shared.messaging.bus import PipelinedPublisher
from shared.metrics.oncommit import count_events

log = logging.getLogger(__name__)

OUTBOX_DIRTY = "tuyensinh.outbox_dirty"


def stage_event(session: Session, source: str, envelope: Mapping[str, Any]) -> None:
    """Write an event into the outbox inside the caller's transaction."""
    session.execute(
        outbox.insert().values(
            event_id=envelope["event_id"],
            source=source,
            event_type=envelope["type"],
            body=json.dumps(envelope),
        )
    )
    session.info[OUTBOX_DIRTY] = True
    count_events(session, source, [envelope])


def stage_events(session: Session, source: str, envelopes: Sequence[Mapping[str, Any]]) -> None:
    """Write many events into the outbox inside the caller's transaction, in one statement."""
    if not envelopes:
        return
    rows = [
        {
            "event_id": envelope["event_id"],
            "source": source,
            "event_type": envelope["type"],
            "body": json.dumps(envelope),
        }
        for envelope in envelopes
    ]
    session.execute(outbox.insert(), rows)
    session.info[OUTBOX_DIRTY] = True
    count_events(session, source, envelopes)


def relay_batch(engine: Engine, publisher: PipelinedPublisher, limit: int = 1000) -> int:
    """Publish up to `limit` committed outbox rows in order, deleting them once all confirmed.

    Rows are locked with SKIP LOCKED, so several instances relay side by side. A crash after
    publishing and before the delete publishes those rows again; consumers dedupe on event_id.
    """
    with Session(engine) as session, session.begin():
        query = select(outbox.c.id, outbox.c.source, outbox.c.body).order_by(outbox.c.id)
        rows = session.execute(query.limit(limit).with_for_update(skip_locked=True)).all()
        publisher.publish_events([(row.source, json.loads(row.body)) for row in rows])
        if rows:
            session.execute(delete(outbox).where(outbox.c.id.in_([row.id for row in rows])))
    return len(rows)


def pending_count(engine: Engine) -> int:
    """How many events wait in the outbox."""
    from sqlalchemy import func

    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(outbox)).scalar_one())
