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
from sqlalchemy.dialects import sqlite
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
    ordered = [(keys, n) for keys, n in sorted(added.items()) if n]
    if not ordered:
        return
    if session.get_bind().dialect.name == "postgresql":
        # One statement, as SQL text: Core would send the rows as an executemany (psycopg2:
        # a round trip per row), or compile a multi-row VALUES afresh each time; either
        # cost registration a tenth of its CPU at a steady 100 submissions/s.
        params = [value for keys, n in ordered for value in (*keys, n)]
        session.connection().exec_driver_sql(upsert_sql(table, len(ordered)), tuple(params))
        return
    rows: list[dict[str, Any]] = [
        {**dict(zip(names, keys, strict=True)), "n": n} for keys, n in ordered
    ]
    insert = sqlite.insert(table)
    statement = insert.on_conflict_do_update(
        index_elements=list(table.primary_key.columns), set_={"n": table.c.n + insert.excluded.n}
    )
    session.execute(statement, rows)


def upsert_sql(table: Table, rows: int) -> str:
    """PostgreSQL's upsert adding to `rows` count rows of `table`, its parameters positional
    (`%s`: each row's keys in primary-key order, then `n`). Names come from the model."""
    keys = ", ".join(column.name for column in table.primary_key.columns)
    one = f"({', '.join(['%s'] * (len(table.primary_key.columns) + 1))})"
    return (
        f"INSERT INTO {table.name} ({keys}, n) VALUES {', '.join([one] * rows)}"
        f" ON CONFLICT ({keys}) DO UPDATE SET n = {table.name}.n + EXCLUDED.n"
    )
