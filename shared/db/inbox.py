"""Idempotent consumers: remember each handled message in the same transaction as its effect."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from shared.db.tables import processed_messages


def first_delivery(session: Session, consumer: str, message_id: str) -> bool:
    """Record `message_id` for `consumer`; False if it was already handled.

    A concurrent duplicate waits on the primary key until the first commits, then sees it.
    """
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(processed_messages)
        .values(consumer=consumer, message_id=message_id)
        .on_conflict_do_nothing()
    )
    return bool(session.execute(statement).rowcount)  # type: ignore[attr-defined]


def first_deliveries(session: Session, consumer: str, message_ids: Sequence[str]) -> set[str]:
    """Record many message ids for `consumer` at once; returns those not handled before."""
    if not message_ids:
        return set()
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(processed_messages)
        .on_conflict_do_nothing()
        .returning(processed_messages.c.message_id)
    )
    # Parameters as a list (executemany with RETURNING): no per-value SQL construction.
    rows = [{"consumer": consumer, "message_id": mid} for mid in dict.fromkeys(message_ids)]
    return set(session.scalars(statement, rows))
