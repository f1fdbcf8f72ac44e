"""The statements of one ledger commit, sent to PostgreSQL together in one round trip.

A chunk's commit writes the outcomes of the chunk before it, the inbox copies (first chunk),
the new delivery rows and the per-minute counts. Built as SQLAlchemy Core statements, those
cost more CPU than the database's work (compiling, a bind processor per value, an execution
context per statement); here they are held as SQL text with positional parameters and go to
the driver as one string at `flush` (psycopg2 interpolates on the client, so one string may
hold several statements). They still run through SQLAlchemy's connection, so an error is
SQLAlchemy's (an `IntegrityError` for a key taken, a disconnect the pool learns from).

Elsewhere (SQLite, the embedded default) each statement runs at once through Core.
Table and column names come from the models; every value is a parameter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import DateTime, Table, insert, update
from sqlalchemy.orm import Session

from shared.db.counts import add_counts, upsert_sql
from shared.db.types import UtcDateTime

Keys = TypeVar("Keys", bound=tuple[str, ...])


class Increment:
    """A value that adds one to the column (`attempts` of a send tried again)."""


INCREMENT = Increment()


class Writes:
    """Statements for one transaction of `session`, in order; `flush` before reading what
    they wrote, and `commit` to end the transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.held = session.get_bind().dialect.name == "postgresql"
        self._sql: list[str] = []
        self._params: list[Any] = []
        self._stamps: dict[datetime, str] = {}

    def insert(self, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert `rows` (every column but the key `id`)."""
        if not rows:
            return
        if not self.held:
            self.session.execute(insert(table), list(rows))
            return
        columns, stamps = _columns(table)
        one = f"({', '.join(['%s'] * len(columns))})"
        self._sql.append(
            f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES {', '.join([one] * len(rows))}"
        )
        for row in rows:
            values = [row[column] for column in columns]
            for n in stamps:
                values[n] = self._stamp(values[n])
            self._params.extend(values)

    def update(
        self, table: Table, event_ids: Sequence[str], channel: str, values: Mapping[str, Any]
    ) -> None:
        """Set `values` in the rows of `event_ids` on `channel`."""
        if not event_ids:
            return
        if not self.held:
            columns = table.c
            core = {
                name: columns[name] + 1 if value is INCREMENT else value
                for name, value in values.items()
            }
            where = columns.event_id.in_(event_ids), columns.channel == channel
            self.session.execute(update(table).where(*where).values(**core))
            return
        sets = []
        for name, value in values.items():
            if value is INCREMENT:
                sets.append(f"{name} = {name} + 1")
            else:
                sets.append(f"{name} = %s")
                self._params.append(self._stamp(value) if type(value) is datetime else value)
        self._sql.append(
            f"UPDATE {table.name} SET {', '.join(sets)} WHERE event_id IN %s AND channel = %s"
        )
        self._params.extend([tuple(event_ids), channel])

    def add_counts(self, table: Table, added: Mapping[Keys, int]) -> None:
        """Add to running counts as `shared.db.counts.add_counts` does: one upsert, its rows
        in key order (two transactions adding to the same keys wait, never deadlock)."""
        rows = [(*keys, n) for keys, n in sorted(added.items()) if n]
        if not rows:
            return
        if not self.held:
            add_counts(self.session, table, added)
            return
        self._sql.append(upsert_sql(table, len(rows)))
        self._params.extend(value for row in rows for value in row)

    def _stamp(self, value: datetime | None) -> str | None:
        # A timestamp as ISO text, written once per distinct value: psycopg2's own adapter
        # took 2 µs a value (more than a string), and a chunk's rows share one or two
        # moments. PostgreSQL reads the text as the column's type, exactly.
        if value is None:
            return None
        text = self._stamps.get(value)
        if text is None:
            if value.tzinfo is None:  # as `UtcDateTime` refuses it on the Core path
                raise ValueError("naive datetimes are not stored; use an aware UTC datetime")
            text = self._stamps[value] = value.isoformat()
        return text

    def flush(self) -> None:
        """Send what is held, in one round trip."""
        if not self._sql:
            return
        sql, params = ";\n".join(self._sql), tuple(self._params)
        self._sql, self._params = [], []
        self.session.connection().exec_driver_sql(sql, params)

    def commit(self) -> None:
        """Send what is held and commit the transaction."""
        self.flush()
        self.session.commit()


@cache
def _columns(table: Table) -> tuple[tuple[str, ...], tuple[int, ...]]:
    # Every column but the key; and which of them are timestamps.
    columns = [column for column in table.columns if column.name != "id"]
    timestamp = UtcDateTime | DateTime
    stamps = [n for n, column in enumerate(columns) if isinstance(column.type, timestamp)]
    return tuple(column.name for column in columns), tuple(stamps)
