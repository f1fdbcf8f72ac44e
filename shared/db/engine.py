"""Engine construction for PostgreSQL (production, tests) and SQLite files (embedded default)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url


def build_engine(
    uri: str,
    *,
    green: bool = False,
    pool_size: int = 10,
    pre_ping: bool = True,
    autocommit: bool = False,
) -> Engine:
    """Make an engine for `uri`; `green` makes psycopg2 yield to the eventlet hub.
    `autocommit`: every connection commits each statement as it completes (PostgreSQL;
    set once per connection, not at each checkout and checkin).

    `pre_ping` tests each pooled connection with a round trip as it is checked out. Without
    it, a connection the server dropped (a restart) fails the one transaction that meets it,
    and the pool then replaces every connection older than that failure.
    """
    url = make_url(uri)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(uri)
    if green:
        # Plain psycopg2 blocks the whole eventlet hub while it waits on the server.
        from psycogreen.eventlet import patch_psycopg

        patch_psycopg()
    return create_engine(
        uri,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=pre_ping,
        hide_parameters=True,  # parameters are children's data; keep them out of logs
        **({"isolation_level": "AUTOCOMMIT"} if autocommit else {}),
    )


def _sqlite_engine(uri: str) -> Engine:
    database = make_url(uri).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # One connection per process: SQLite would otherwise block the green hub on its file
    # lock while another greenlet of the same process holds the write lock.
    engine = create_engine(
        uri,
        pool_size=1,
        max_overflow=0,
        pool_timeout=60,
        hide_parameters=True,
        connect_args={"timeout": 30, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine
