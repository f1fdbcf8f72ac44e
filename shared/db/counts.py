"""Running counts in small tables, added to in the transaction that does the counted work.

A count row is keyed by a few short strings and holds `n`; adding to it is one upsert for many
keys at once (PostgreSQL, or SQLite for the embedded runs), its rows in key order, so two
transactions adding to the same keys wait on each other instead of deadlocking.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

Keys = TypeVar("Keys", bound=tuple[str, ...])


def minute_of(moment: datetime) -> str:
    """The UTC minute a moment falls in, as a count's key: `2027-06-01T08:05`."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def add_counts(session: Session, table: Table, added: Mapping[Keys, int]) -> None:
    """Add each `n` of `added` to the row of `table` whose key columns (the primary key, in
    order) hold that tuple of keys; a missing row starts at 0. Zeros are skipped."""
    names: Sequence[str] = [column.name for column in table.primary_key.columns]
    rows: list[dict[str, Any]] = [
        {**dict(zip(names, keys, strict=True)), "n": n} for keys, n in sorted(added.items()) if n
    ]
    if not rows:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(table)
    statement = insert.on_conflict_do_update(
        index_elements=list(table.primary_key.columns), set_={"n": table.c.n + insert.excluded.n}
    )
    session.execute(statement, rows)
