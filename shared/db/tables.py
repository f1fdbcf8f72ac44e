"""Tables every service database has: the transactional outbox and the processed-message inbox."""

from __future__ import annotations

from sqlalchemy import Column, Connection, DateTime, Integer, MetaData, String, Table, Text, func

messaging_metadata = MetaData()

outbox = Table(
    "outbox",
    messaging_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("source", String(40), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

processed_messages = Table(
    "processed_messages",
    messaging_metadata,
    Column("consumer", String(120), primary_key=True),
    Column("message_id", String(36), primary_key=True),
    Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


def create_messaging_tables(bind: Connection) -> None:
    """Alembic helper: create the outbox and inbox tables in a service's first migration."""
    messaging_metadata.create_all(bind)


def drop_messaging_tables(bind: Connection) -> None:
    """Alembic helper: the downgrade of `create_messaging_tables`."""
    messaging_metadata.drop_all(bind)
