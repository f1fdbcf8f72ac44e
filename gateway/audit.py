"""The append-only audit log: who did what to which object, when, from where, and the outcome.

Rows name objects by their IDs only (application references, school codes, round ids):
never a child's name, birth date or citizen ID. The table refuses UPDATE and DELETE (a
trigger, see gateway/migrations/), so an entry, once written, stays as written.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Connection, DateTime, Integer, String, insert
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, utcnow
from gateway.groupcommit import SharedTransaction

log = logging.getLogger(__name__)


class AuditEntry(Base):
    """One audited request."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor_id: Mapped[str | None] = mapped_column(String(36), index=True)
    role: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    objects: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[int] = mapped_column(Integer)
    ip: Mapped[str | None] = mapped_column(String(45))
    correlation_id: Mapped[str | None] = mapped_column(String(64))


class AuditLog:
    """Writes entries to the gateway's database. Entries of requests finishing together
    share one transaction with each other and with the claims being made at that moment
    (gateway.groupcommit); each request waits until its entry is committed."""

    def __init__(self, writes: SharedTransaction) -> None:
        self._writes = writes
        writes.register("audit", self._write_many)

    def record(
        self,
        *,
        action: str,
        actor_id: str | None,
        role: str | None,
        objects: dict[str, Any],
        status: int,
        ip: str | None,
        correlation_id: str | None,
    ) -> None:
        """Append one entry (raises if the database does not take it)."""
        row = {
            "at": utcnow(),
            "actor_id": actor_id,
            "role": role,
            "action": action,
            "objects": {key: str(value) for key, value in objects.items()},
            "status": status,
            "ip": ip,
            "correlation_id": correlation_id,
        }
        self._writes("audit", row)

    @staticmethod
    def _write_many(connection: Connection, rows: list[dict[str, Any]]) -> list[None]:
        # A Core insert of many rows, not ORM objects: this runs after every audited request.
        connection.execute(insert(AuditEntry), rows)
        return [None] * len(rows)
