"""Import the population register from CSV: stream, validate, batch, upsert (idempotent)."""

from __future__ import annotations

import csv
import io
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from psycopg2.extensions import get_wait_callback
from psycopg2.extras import execute_values
from sqlalchemy import Engine, or_
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from tqdm import tqdm

from services.registration.register.csv_rows import (
    COLUMNS,
    BadRow,
    ByteCountingLines,
    Row,
    read_rows,
)
from services.registration.register.models import RegisterPerson

_DATA = COLUMNS[1:]  # everything but the key
_COLUMN_LIST = ", ".join(COLUMNS)

# PostgreSQL: COPY each batch into a session-scoped temp table, then one set-based upsert.
# Unchanged rows are skipped by the WHERE, so a re-run rewrites (and bloats) nothing.
_PG_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS register_import (LIKE register_people) ON COMMIT DELETE ROWS"
)
_PG_COPY = f"COPY register_import ({_COLUMN_LIST}) FROM STDIN WITH (FORMAT csv)"
_PG_STAGE_VALUES = f"INSERT INTO register_import ({_COLUMN_LIST}) VALUES %s"
_PG_UPSERT = (
    f"INSERT INTO register_people ({_COLUMN_LIST}) SELECT {_COLUMN_LIST} FROM register_import"
    " ON CONFLICT (citizen_id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in _DATA)
    + f" WHERE ({', '.join(f'register_people.{c}' for c in _DATA)})"
    + f" IS DISTINCT FROM ({', '.join(f'EXCLUDED.{c}' for c in _DATA)})"
)


@dataclass
class ImportSummary:
    """What an import did: rows read, imported (valid), changed (inserted or updated), bad."""

    read: int = 0
    imported: int = 0
    changed: int = 0
    bad: int = 0
    seconds: float = 0.0

    @property
    def rows_per_second(self) -> float:
        """Rows read per second of wall time."""
        return self.read / self.seconds if self.seconds else 0.0


class _Writer(Protocol):
    def write(self, rows: list[Row]) -> int:
        """Upsert one batch; the rows inserted or updated."""
        ...


def import_register(
    engine: Engine,
    path: Path,
    *,
    batch_size: int = 5000,
    on_bad_row: Callable[[BadRow], None] | None = None,
    progress: bool | None = None,
) -> ImportSummary:
    """Upsert every valid row of `path` into `register_people`, one commit per batch.

    A failure leaves the batches before it committed; running the import again is safe.

    `on_bad_row` hears about each rejected row (line number and field names, no values);
    `progress` shows a tqdm bar: True, False, or None for "only on a terminal".
    """
    summary = ImportSummary()
    started = time.perf_counter()

    def bad(row: BadRow) -> None:
        summary.bad += 1
        if on_bad_row is not None:
            on_bad_row(row)

    size = path.stat().st_size
    with (
        open(path, "rb") as raw,
        _writer(engine) as writer,
        tqdm(total=size, unit="B", unit_scale=True, disable=_disable(progress)) as bar,
    ):
        lines = ByteCountingLines(raw)
        # A dict per batch: a citizen id twice in one batch keeps its last row, as an upsert
        # cannot touch one row twice in a statement.
        batch: dict[str, Row] = {}
        for row in read_rows(lines, bad):
            summary.read += 1
            batch[row[0]] = row
            if len(batch) >= batch_size:
                writer.submit(list(batch.values()))
                summary.imported += len(batch)
                batch.clear()
                bar.update(lines.bytes_read - bar.n)
        if batch:
            writer.submit(list(batch.values()))
            summary.imported += len(batch)
        summary.changed = writer.finish()
        bar.update(lines.bytes_read - bar.n)
    summary.read += summary.bad
    summary.seconds = time.perf_counter() - started
    return summary


def _disable(progress: bool | None) -> bool | None:
    return None if progress is None else not progress  # tqdm: None disables off a TTY


@contextmanager
def _writer(engine: Engine) -> Iterator[_Pipeline]:
    if engine.dialect.name == "postgresql":
        with _PostgresWriter.open(engine) as writer, _Pipeline.running(writer) as pipeline:
            yield pipeline
    else:
        with _Pipeline.running(_SqlAlchemyWriter(engine)) as pipeline:
            yield pipeline


class _Pipeline:
    """Writes batches on a thread while the next one is parsed: the server and the parsing
    overlap (psycopg2 releases the GIL while it waits). Two batches at most are in flight."""

    def __init__(self, writer: _Writer) -> None:
        self.writer = writer
        self.batches: queue.Queue[list[Row] | None] = queue.Queue(maxsize=2)
        self.changed = 0
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="register-writer", daemon=True)

    @classmethod
    @contextmanager
    def running(cls, writer: _Writer) -> Iterator[_Pipeline]:
        """A started pipeline, finished (and its thread joined) however the block ends."""
        pipeline = cls(writer)
        pipeline.thread.start()
        try:
            yield pipeline
        finally:
            pipeline.finish()

    def submit(self, rows: list[Row]) -> None:
        """Queue a batch; waits while two are in flight; raises the writer's error if any."""
        self._raise_once()
        self.batches.put(rows)

    def finish(self) -> int:
        """Wait for the batches in flight; the rows inserted or updated, or the writer's error."""
        if self.thread.is_alive():
            self.batches.put(None)
            self.thread.join()
        self._raise_once()
        return self.changed

    def _raise_once(self) -> None:
        error, self.error = self.error, None
        if error is not None:
            raise error

    def _run(self) -> None:
        failed = False
        while (rows := self.batches.get()) is not None:
            if failed:
                continue  # keep draining, so that submit never blocks on a full queue
            try:
                self.changed += self.writer.write(rows)
            except BaseException as error:
                self.error, failed = error, True


class _PostgresWriter:
    """COPY into a temp table and INSERT ... SELECT ... ON CONFLICT, on one connection."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        with connection.cursor() as cursor:
            cursor.execute(_PG_STAGE)
        connection.commit()

    @classmethod
    @contextmanager
    def open(cls, engine: Engine) -> Iterator[_PostgresWriter]:
        """A writer on its own pooled connection (the temp table stays with it, empty)."""
        connection = engine.raw_connection()
        try:
            yield cls(connection)
        finally:
            connection.close()

    def write(self, rows: list[Row]) -> int:
        """Upsert one batch in one transaction; the rows inserted or updated."""
        try:
            with self.connection.cursor() as cursor:
                if get_wait_callback() is None:
                    buffer = io.StringIO()
                    csv.writer(buffer).writerows(rows)  # None: unquoted empty field, i.e. NULL
                    buffer.seek(0)
                    cursor.copy_expert(_PG_COPY, buffer)
                else:
                    # A green process (eventlet, psycogreen) cannot COPY; this is slower.
                    execute_values(cursor, _PG_STAGE_VALUES, rows, page_size=len(rows))
                cursor.execute(_PG_UPSERT)
                changed = int(cursor.rowcount)
            self.connection.commit()  # ON COMMIT DELETE ROWS empties the stage
        except Exception:
            self.connection.rollback()
            raise
        return changed


class _SqlAlchemyWriter:
    """SQLite (the embedded default): INSERT ... ON CONFLICT DO UPDATE, executemany."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        columns = RegisterPerson.__table__.c
        insert = sqlite_insert(RegisterPerson)
        excluded = insert.excluded
        self.statement = insert.on_conflict_do_update(
            index_elements=[columns.citizen_id],
            set_={c: excluded[c] for c in _DATA},
            where=or_(*(columns[c].is_distinct_from(excluded[c]) for c in _DATA)),
        )

    def write(self, rows: list[Row]) -> int:
        """Upsert one batch in one transaction; the rows inserted or updated."""
        params: list[dict[str, Any]] = [dict(zip(COLUMNS, row, strict=True)) for row in rows]
        for values in params:
            values["date_of_birth"] = date.fromisoformat(values["date_of_birth"])
            for column in ("lat", "lon"):
                if values[column] is not None:
                    values[column] = float(values[column])
        with self.engine.begin() as connection:
            return max(int(connection.execute(self.statement, params).rowcount), 0)
