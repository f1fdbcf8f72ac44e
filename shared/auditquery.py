"""Searching an audit log, the same way in every database that keeps one.

Two tables hold audit entries with the same columns: the gateway's `audit_log` (every
audited request) and registration's (the submissions it stored, whose entry travelled in
the command). A search runs on each and the gateway merges the answers, newest first, in
the order (`at` descending, source, `id` descending). A page ends at a `Cursor` naming its
last entry, so the next page starts exactly after it in both tables, even when entries share
an instant. Filters use the expressions that the tables' indexes are built on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, false, func, literal_column, or_, select, true

SOURCES = ("gateway", "registration")  # in the merge's order for equal instants


@dataclass(frozen=True)
class Cursor:
    """The last entry of a page: `at`, its table and its id there."""

    at: datetime
    source: str
    id: int

    def encode(self) -> str:
        """`<ISO instant>~<source>~<id>`, as the API hands it back."""
        return f"{self.at.astimezone(UTC).isoformat()}~{self.source}~{self.id}"

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """The cursor `encode` wrote; ValueError for anything else."""
        at, source, id_ = text.split("~")
        if source not in SOURCES:
            raise ValueError("unknown source")
        instant = datetime.fromisoformat(at)
        return cls(instant if instant.tzinfo else instant.replace(tzinfo=UTC), source, int(id_))


@dataclass(frozen=True)
class AuditQuery:
    """A search; any filter may be left out. `after` is the cursor of the page before."""

    reference: str | None = None
    actor_id: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    after: Cursor | None = None

    def to_wire(self) -> dict[str, Any]:
        """The query as RPC arguments (JSON)."""
        data = asdict(self)
        data["since"] = self.since.isoformat() if self.since else None
        data["until"] = self.until.isoformat() if self.until else None
        data["after"] = self.after.encode() if self.after else None
        return data

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> AuditQuery:
        """The query `to_wire` sent."""
        instant = datetime.fromisoformat
        return replace(
            cls(**{k: data.get(k) for k in ("reference", "actor_id", "action")}),
            since=instant(data["since"]) if data.get("since") else None,
            until=instant(data["until"]) if data.get("until") else None,
            after=Cursor.decode(data["after"]) if data.get("after") else None,
        )


def named(model: Any, dialect: str, key: str) -> Any:
    """The `key` an entry's objects name, as the SQL the expression indexes are built on
    (the JSON path is a literal, so the planner matches them)."""
    if dialect == "sqlite":
        return func.json_extract(model.objects, literal_column(f"'$.{key}'"))
    return model.objects.op("->>")(literal_column(f"'{key}'"))


def index_expression(dialect: str, key: str) -> str:
    """`named` as DDL, for a migration's CREATE INDEX."""
    if dialect == "sqlite":
        return f"json_extract(objects, '$.{key}')"
    return f"(objects ->> '{key}')"


def filtered(model: Any, source: str, dialect: str, query: AuditQuery, limit: int) -> Select[Any]:
    """One table's entries matching `query`, in the merge's order, at most `limit`."""
    statement = select(model)
    if query.reference:
        statement = statement.where(named(model, dialect, "reference") == query.reference)
    if query.actor_id:
        statement = statement.where(model.actor_id == query.actor_id)
    if query.action:
        statement = statement.where(model.action == query.action)
    if query.since:
        statement = statement.where(model.at >= stored(query.since))
    if query.until:
        statement = statement.where(model.at < stored(query.until))
    if query.after:
        statement = statement.where(_after(model, source, query.after))
    return statement.order_by(model.at.desc(), model.id.desc()).limit(limit)


def _after(model: Any, source: str, cursor: Cursor) -> Any:
    at = stored(cursor.at)
    rank, last = SOURCES.index(source), SOURCES.index(cursor.source)
    same_instant = true() if rank > last else (model.id < cursor.id if rank == last else false())
    return or_(model.at < at, and_(model.at == at, same_instant))


def stored(value: datetime) -> datetime:
    """An instant in UTC, as both logs store it (on SQLite, without its zone: the column
    types drop it after this conversion)."""
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def as_row(entry: Any, source: str) -> dict[str, Any]:
    """An entry as JSON-ready data, with the table it came from."""
    at = entry.at if entry.at.tzinfo else entry.at.replace(tzinfo=UTC)
    return {
        "id": entry.id,
        "source": source,
        "at": at.isoformat(),
        "actor_id": entry.actor_id,
        "role": entry.role,
        "action": entry.action,
        "objects": entry.objects,
        "status": entry.status,
        "ip": entry.ip,
        "correlation_id": entry.correlation_id,
    }


def merged(pages: list[list[dict[str, Any]]], limit: int) -> list[dict[str, Any]]:
    """Each table's page merged in the merge's order (newest first, then source, then id
    descending), the first `limit`."""
    rows = [row for page in pages for row in page]
    rows.sort(
        key=lambda r: (datetime.fromisoformat(r["at"]), -SOURCES.index(r["source"]), r["id"]),
        reverse=True,
    )
    return rows[:limit]


def cursor_of(row: dict[str, Any]) -> Cursor:
    """The cursor that starts the next page after `row`."""
    return Cursor(datetime.fromisoformat(row["at"]), row["source"], row["id"])
