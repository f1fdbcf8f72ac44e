"""Fresh PostgreSQL databases for tests, migrated with the services' own Alembic scripts."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from shared.db.engine import build_engine
from shared.db.migrate import upgrade

ADMIN_URI = os.environ.get("TEST_PG_URI", "postgresql://postgres@127.0.0.1:5432/postgres")


def _admin() -> psycopg2.extensions.connection:
    connection = psycopg2.connect(ADMIN_URI, connect_timeout=5)
    connection.autocommit = True
    return connection


def create_database(service: str, revision: str = "head") -> str:
    """A new empty database migrated to `revision` (default: head) for `service`; its URI."""
    name = f"ts_test_{service}_{uuid.uuid4().hex[:10]}"
    connection = _admin()
    try:
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        connection.close()
    uri = make_url(ADMIN_URI).set(database=name).render_as_string(hide_password=False)
    upgrade(service, uri, revision)
    return uri


def drop_database(uri: str) -> None:
    """Drop a test database, disconnecting whoever is still on it."""
    name = make_url(uri).database
    connection = _admin()
    try:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        connection.close()


@contextmanager
def throwaway_database(service: str) -> Iterator[Engine]:
    """An engine on a new database migrated for `service`, dropped afterwards."""
    uri = create_database(service)
    engine = build_engine(uri)
    try:
        yield engine
    finally:
        engine.dispose()
        drop_database(uri)
