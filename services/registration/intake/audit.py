"""The audit entries of submissions, written where the application is stored.

The gateway answers a submission 202 only once the broker has confirmed the command, and
the command carries the request's audit entry (`SubmissionAuditV1`). Registration appends
it in the transaction that stores the application, so a submission is audited exactly
when it is stored, without a database write of its own at the gateway. Submissions the
gateway refused (400, 409, 429, 503) never reach here: the gateway audits those itself, in
its own `audit_log`. Like the gateway's, this table refuses UPDATE and DELETE.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from services.registration.models import Base
from shared.auditquery import AuditQuery, as_row, filtered
from shared.contracts.envelope import Message
from shared.db.types import UtcDateTime

ACCEPTED = 202  # the status the gateway answered: a command exists only after its confirm


class SubmissionAudit(Base):
    """One audited submission (IDs only: never a name, birth date or citizen ID)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    actor_id: Mapped[str | None] = mapped_column(String(36), index=True)
    role: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    objects: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[int] = mapped_column(Integer)
    ip: Mapped[str | None] = mapped_column(String(45))
    correlation_id: Mapped[str | None] = mapped_column(String(64))


def audit_submissions(session: Session, messages: Sequence[Message]) -> None:
    """Append the audit entry each `submit_application` command carries (in one INSERT)."""
    rows = [
        {
            **{key: audit[key] for key in ("at", "actor_id", "role", "action", "ip")},
            "objects": {"reference": m.payload["reference"], "round_id": m.payload["round_id"]},
            "status": ACCEPTED,
            "correlation_id": m.correlation_id,
        }
        for m in messages
        if (audit := m.payload.get("audit")) is not None
    ]
    if rows:
        session.execute(insert(SubmissionAudit), rows)


def audit_entries(session: Session, query: AuditQuery, limit: int) -> list[dict[str, Any]]:
    """The stored submissions' entries matching a search, in the merge's order."""
    dialect = session.get_bind().dialect.name
    statement = filtered(SubmissionAudit, "registration", dialect, query, limit)
    return [as_row(entry, "registration") for entry in session.scalars(statement)]


def audit_change(
    session: Session,
    action: str,
    actor: dict[str, Any],
    objects: dict[str, Any],
    correlation_id: str,
) -> None:
    """Append the entry of a change made here on a staff member's behalf (IDs only)."""
    row = {
        "at": datetime.now(UTC),
        "actor_id": actor.get("actor_id"),
        "role": actor.get("role"),
        "action": action,
        "objects": {key: str(value) for key, value in objects.items()},
        "status": 200,
        "ip": actor.get("ip"),
        "correlation_id": correlation_id,
    }
    session.execute(insert(SubmissionAudit), [row])
