"""Reading the audit log: the department's search and export, and a family's view of who
opened their child's record.

Entries live in two tables (see shared/auditquery.py): the gateway's, and registration's for
the submissions it stored. A search asks both and merges them, newest first, in pages that
end at a cursor (never OFFSET, which rescans what it skips). A family sees the reads and
changes of their own application by role and office only (a school by its code, "the
department"), never an officer's account. Both run on indexed expressions (gateway
migration `0004_audit_search`, registration's `0011_submission_audit`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gateway.audit import AuditEntry
from shared.auditquery import AuditQuery, as_row, cursor_of, filtered, merged, named, stored

PAGE = 50
COLUMNS = (
    "at",
    "source",
    "id",
    "actor_id",
    "role",
    "action",
    "objects",
    "status",
    "ip",
    "correlation_id",
)
# What a family's view counts as a look at their child's record, besides entries naming it.
STAFF_READS = ("intake.read",)
DEPARTMENT_READS = ("round.export_results",)
# Registration's entries for a query: `(query, limit) -> rows` (an RPC in the gateway).
Remote = Callable[[AuditQuery, int], list[dict[str, Any]]]


def search(session: Session, remote: Remote, query: AuditQuery, limit: int = PAGE) -> list[Any]:
    """The entries of both tables matching `query`, newest first, at most `limit`."""
    dialect = session.get_bind().dialect.name
    local = filtered(AuditEntry, "gateway", dialect, query, limit)
    mine = [as_row(entry, "gateway") for entry in session.scalars(local)]
    theirs = remote(query, limit) if _registration_may_hold(query) else []
    return merged([mine, theirs], limit)


def export(session: Session, remote: Remote, query: AuditQuery, chunk: int = 1000) -> Iterator[str]:
    """Every matching entry as CSV text, newest first, in chunks (streamed, never all held)."""
    yield _csv([COLUMNS])
    while rows := search(session, remote, query, chunk):
        yield _csv([_cells(row) for row in rows])
        query = replace(query, after=cursor_of(rows[-1]))


def record_access(
    session: Session,
    remote: Remote,
    reference: str,
    round_id: str,
    schools: Iterable[str],
    since: datetime | None,
) -> list[dict[str, Any]]:
    """Who read or changed this application, oldest first, by role and office only.

    Counts the entries naming the reference (in both tables); reads of the intake lists of
    the schools the child's result names, from the round's publication on (those lists show
    the child); and the department's exports of the child's round.
    """
    dialect = session.get_bind().dialect.name
    schools = sorted(set(schools))
    about = [named(AuditEntry, dialect, "reference") == reference]
    if schools:
        reads = AuditEntry.action.in_(STAFF_READS) & named(AuditEntry, dialect, "code").in_(schools)
        about.append(reads & (AuditEntry.at >= stored(since)) if since else reads)
    exports = AuditEntry.action.in_(DEPARTMENT_READS)
    about.append(exports & (named(AuditEntry, dialect, "round_id") == round_id))
    statement = select(AuditEntry).where(or_(*about), AuditEntry.status < 400).limit(500)
    rows = [as_row(entry, "gateway") for entry in session.scalars(statement)]
    rows += remote(AuditQuery(reference=reference), 500)
    return [_seen(row) for row in sorted(rows, key=lambda r: (r["at"], r["source"], r["id"]))]


# The actions registration audits itself (in the transaction of the change): submissions (a
# family's, or a help desk's for a family) and correction decisions.
REGISTRATION_ACTIONS = (
    None,
    "application.submit",
    "helpdesk.register",
    "correction.approved",
    "correction.refused",
)


def _registration_may_hold(query: AuditQuery) -> bool:
    """Registration keeps submissions and correction decisions: other searches need not ask."""
    return query.action in REGISTRATION_ACTIONS


def _seen(row: dict[str, Any]) -> dict[str, Any]:
    """An entry as the family sees it: when, what, and which office (no account, no IP)."""
    by = {
        "parent": "family",
        "staff": "school",
        "department": "department",
        "helpdesk": "help_point",
    }
    objects = row["objects"] or {}
    return {
        "at": row["at"],
        "action": row["action"],
        "by": by.get(row["role"] or "", "system"),
        "school_code": objects.get("code") if row["role"] == "staff" else None,
    }


def _cells(row: dict[str, Any]) -> list[str]:
    objects = row["objects"] or {}
    flat = ";".join(f"{key}={value}" for key, value in sorted(objects.items()))
    return [flat if c == "objects" else ("" if row[c] is None else str(row[c])) for c in COLUMNS]


def _csv(rows: list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()
