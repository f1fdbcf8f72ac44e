"""The gateway's own database: accounts, refresh tokens, login codes, claims and the audit log.

No service reads it, and the gateway reads no service's tables: this is the gateway's state.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from shared.db.engine import build_engine


class Base(DeclarativeBase):
    """Declarative base of every gateway table (see gateway/migrations/)."""


def utcnow() -> datetime:
    """The time now, timezone-aware."""
    return datetime.now(UTC)


def aware(moment: datetime) -> datetime:
    """SQLite hands timestamps back naive; they were stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def patch_driver_for_green_threads() -> None:
    """Make psycopg2 yield to whichever green hub runs this process (gevent in gunicorn,
    eventlet in the tests); plain psycopg2 would block every request of the worker."""
    if "gevent" in sys.modules:
        from gevent import monkey

        if monkey.is_module_patched("socket"):
            from psycogreen.gevent import patch_psycopg

            patch_psycopg()
            return
    if "eventlet" in sys.modules:
        from eventlet import patcher

        if patcher.is_monkey_patched("socket"):
            from psycogreen.eventlet import patch_psycopg as patch_eventlet

            patch_eventlet()


class GatewayDatabase:
    """One engine per worker, built on first use (nothing connects at import or app build)."""

    def __init__(self, uri: str, pool_size: int = 10) -> None:
        self.uri = uri
        self._pool_size = pool_size
        self._engine: Engine | None = None
        self._autocommit: Engine | None = None
        self._sessions: sessionmaker[Session] | None = None

    @property
    def engine(self) -> Engine:
        """The engine, created on first use."""
        if self._engine is None:
            patch_driver_for_green_threads()
            # No ping per checkout: at the peak it would be one more round trip per group
            # commit. After a database restart one batch fails (503, try again), not more.
            self._engine = build_engine(self.uri, pool_size=self._pool_size, pre_ping=False)
            self._sessions = sessionmaker(self._engine, expire_on_commit=False)
        return self._engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on error."""
        self.engine  # noqa: B018 - builds the sessionmaker on first use
        assert self._sessions is not None
        with self._sessions() as session, session.begin():
            yield session

    def transaction(self) -> AbstractContextManager[Connection]:
        """A pooled connection in a transaction, committed on leaving (Core writes)."""
        return self.engine.begin()

    def statements(self) -> AbstractContextManager[Connection]:
        """A pooled connection in autocommit: each statement is committed as it completes.
        For writes that are one statement each (a claim, a batch of audit entries): the
        driver then sends that statement alone, not BEGIN, the statement and COMMIT, three
        round trips each of which costs a gevent worker a wake-up and a read.

        On PostgreSQL these connections are a pool of their own, in autocommit from the
        start: switching a shared connection at checkout and back at checkin cost more of a
        worker's CPU under P1 (py-spy: ~13 % of each 202's) than the claim's INSERT itself.
        SQLite keeps its one connection per process, switched per use."""
        if self._autocommit is None:
            engine = self.engine
            if engine.dialect.name == "sqlite":
                self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
            else:  # the group commit writes at most 4 batches at once (gateway.groupcommit)
                self._autocommit = build_engine(
                    self.uri, pool_size=4, pre_ping=False, autocommit=True
                )
        return self._autocommit.connect()

    def dispose(self) -> None:
        """Close every pooled connection (worker exit, test teardown)."""
        for engine in (self._autocommit, self._engine):
            if engine is not None:
                engine.dispose()
