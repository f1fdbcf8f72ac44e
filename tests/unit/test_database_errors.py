"""Which database errors mean "the database is away or busy, try the same work later" (no
retry spent, see shared.messaging.failures) and which mean the work itself failed."""

from __future__ import annotations

import psycopg2
import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.pool import QueuePool

from shared.db.errors import database_unavailable


def test_a_pool_whose_connections_all_stay_in_use_is_busy_not_wrong(tmp_path: object) -> None:
    engine = create_engine(
        f"sqlite:///{tmp_path}/pool.db", poolclass=QueuePool, pool_size=1, max_overflow=0,
        pool_timeout=0.01,
    )  # fmt: skip
    held = engine.connect()
    try:
        with pytest.raises(Exception) as caught, engine.connect():
            pass
    finally:
        held.close()
        engine.dispose()

    assert database_unavailable(caught.value)


def test_a_refused_connection_is_unavailable_and_a_broken_rule_is_not() -> None:
    refused = OperationalError("connect", {}, psycopg2.OperationalError("connection refused"))
    duplicate = IntegrityError("INSERT", {}, Exception("duplicate key"))

    assert database_unavailable(refused)
    assert not database_unavailable(duplicate)
    assert not database_unavailable(ValueError("bad payload"))


def test_an_error_raised_from_an_unavailable_database_is_unavailable_too() -> None:
    try:
        try:
            raise OperationalError("connect", {}, psycopg2.OperationalError("server closed"))
        except OperationalError as cause:
            raise RuntimeError("the handler gave up") from cause
    except RuntimeError as wrapped:
        assert database_unavailable(wrapped)
