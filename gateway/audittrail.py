"""Reading the audit log: the department's search and export, and a family's view of who
opened their child's record.

The department searches by child reference, actor, action and time, newest first, in pages
keyed by entry id (never OFFSET, which rescans what it skips). A family sees the reads and
changes of their own application by role and office only (a school by its code, "the
department"), never an officer's account. Both run on indexed columns (see the gateway
migration `0004_audit_search`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, func, literal_column, or_, select
from sqlalchemy.orm import Session

from gateway.audit import AuditEntry

PAGE = 50
COLUMNS = ("id", "at", "actor_id", "role", "action", "objects", "status", "ip", "correlation_id")
# What a family's view counts as a look at, or a change to, their child's record.
STAFF_READS = ("intake.read",)
DEPARTMENT_READS = ("round.export_results",)


@dataclass(frozen=True)
class AuditQuery:
    """The department's filters; any may be left out."""

    reference: str | None = None
    actor_id: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None  # the page after the one ending at this entry


def named(session: Session, key: str) -> Any:
    """The `key` an entry's objects name, as the SQL expression the indexes of migration
    `0004_audit_search` are built on (the path is a literal, so the planner matches them)."""
    if session.get_bind().dialect.name == "sqlite":
        return func.json_extract(AuditEntry.objects, literal_column(f"'$.{key}'"))
    return AuditEntry.objects.op("->>")(literal_column(f"'{key}'"))


def search(session: Session, query: AuditQuery, limit: int = PAGE) -> list[dict[str, Any]]:
    """The entries matching `query`, newest first, at most `limit`."""
    statement = _filtered(session, query).order_by(AuditEntry.id.desc()).limit(limit)
    return [_row(entry) for entry in session.scalars(statement)]


def export(session: Session, query: AuditQuery, chunk: int = 1000) -> Iterator[str]:
    """Every matching entry as CSV text, newest first, in chunks (streamed, never all held)."""
    yield _csv([COLUMNS])
    cursor = query
    while True:
        rows = search(session, cursor, chunk)
        if not rows:
            return
        yield _csv([_cells(row) for row in rows])
        cursor = AuditQuery(**{**cursor.__dict__, "before_id": rows[-1]["id"]})


def record_access(
    session: Session, reference: str, round_id: str, schools: Iterable[str], since: datetime | None
) -> list[dict[str, Any]]:
    """Who read or changed this application, oldest first, by role and office only.

    Counts the entries naming the reference; reads of the intake lists of the schools the
    child's result names, from the round's publication on (those lists show the child); and
    the department's exports of the child's round.
    """
    schools = sorted(set(schools))
    about = [named(session, "reference") == reference]
    if schools:
        reads = AuditEntry.action.in_(STAFF_READS) & named(session, "code").in_(schools)
        about.append(reads & (AuditEntry.at >= _instant(session, since)) if since else reads)
    exports = AuditEntry.action.in_(DEPARTMENT_READS)
    about.append(exports & (named(session, "round_id") == round_id))
    statement = (
        select(AuditEntry)
        .where(or_(*about), AuditEntry.status < 400)
        .order_by(AuditEntry.at, AuditEntry.id)
        .limit(500)
    )
    return [_seen(entry) for entry in session.scalars(statement)]


def _filtered(session: Session, query: AuditQuery) -> Select[tuple[AuditEntry]]:
    statement = select(AuditEntry)
    if query.reference:
        statement = statement.where(named(session, "reference") == query.reference)
    if query.actor_id:
        statement = statement.where(AuditEntry.actor_id == query.actor_id)
    if query.action:
        statement = statement.where(AuditEntry.action == query.action)
    if query.since:
        statement = statement.where(AuditEntry.at >= _instant(session, query.since))
    if query.until:
        statement = statement.where(AuditEntry.at < _instant(session, query.until))
    if query.before_id:
        statement = statement.where(AuditEntry.id < query.before_id)
    return statement


def _instant(session: Session, value: datetime) -> datetime:
    """An instant as the log stores it: UTC (SQLite keeps it without its zone)."""
    value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return value.replace(tzinfo=None) if session.get_bind().dialect.name == "sqlite" else value


def _row(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "actor_id": entry.actor_id,
        "role": entry.role,
        "action": entry.action,
        "objects": entry.objects,
        "status": entry.status,
        "ip": entry.ip,
        "correlation_id": entry.correlation_id,
    }


def _seen(entry: AuditEntry) -> dict[str, Any]:
    """An entry as the family sees it: when, what, and which office (no account, no IP)."""
    by = {"parent": "family", "staff": "school", "department": "department"}
    objects = entry.objects or {}
    return {
        "at": entry.at.isoformat(),
        "action": entry.action,
        "by": by.get(entry.role or "", "system"),
        "school_code": objects.get("code") if entry.role == "staff" else None,
    }


def _cells(row: dict[str, Any]) -> list[str]:
    objects = row["objects"] or {}
    flat = ";".join(f"{key}={value}" for key, value in sorted(objects.items()))
    return [str(row[c]) if c != "objects" else flat for c in COLUMNS]


def _csv(rows: list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()
