"""A handler whose database is unreachable keeps its message until the database is back.

The service here is a small one written for the test, on the real consumer
(`shared.messaging.handlers`), the real broker and the real PostgreSQL; its database
connection runs through a TCP proxy the test cuts, so the server is away for it alone
(refused connections, as while PostgreSQL restarts). The retry budget (`RETRY_DELAYS_MS`)
is for messages that fail; an outage is not the message's fault and must not spend it.
Each test runs on classic queues (one node) and on quorum queues (a cluster's): the
behaviour must be the same.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from nameko.extensions import DependencyProvider
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from shared.db.engine import build_engine
from shared.messaging.bus import MessageBus
from shared.messaging.handlers import handle_event
from tests.support.broker import queue_depth
from tests.support.tcp_proxy import TcpProxy
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

QUEUE = "registration.on.allocation.round_discarded"
RETRIES = [100, 200]  # two retries: three calls in all, for a message that fails
CALLS: list[str] = []  # what the handler was called with (the container runs in this process)


class Store(DependencyProvider):
    """The test's own engine on `DB_URI` (made in setup, never at import)."""

    def setup(self) -> None:
        self.engine = build_engine(self.container.config["DB_URI"], green=True, pool_size=2)

    def stop(self) -> None:
        self.engine.dispose()

    def get_dependency(self, worker_ctx: Any) -> Engine:
        return self.engine


class RecordingService:
    """Records each event id it handles in `seen` (or in `missing`, a table that is not there)."""

    name = "registration"
    store = Store()

    @handle_event("allocation", "round_discarded")
    def handle_round_discarded(self, body: dict[str, Any]) -> None:
        CALLS.append(body["event_id"])
        with self.store.begin() as connection:
            connection.execute(
                text(f"INSERT INTO {body['payload']['table']} VALUES (:id)"),
                {"id": body["event_id"]},
            )


class Link:
    """The service's way to its database: a TCP proxy that can be cut and put back."""

    def __init__(self, uri: str) -> None:
        url = make_url(uri)
        self.target = (url.host or "127.0.0.1", url.port or 5432)
        self.proxy = TcpProxy(*self.target)
        self.uri = url.set(port=self.proxy.port).render_as_string(hide_password=False)

    def cut(self) -> None:
        self.proxy.cut()

    def restore(self) -> None:
        self.proxy = TcpProxy(*self.target, port=self.proxy.port)


@pytest.fixture(params=["classic", "quorum"])
def queue_type(request: pytest.FixtureRequest) -> str:
    """The QUEUE_TYPE the service declares its queues with."""
    return str(request.param)


@pytest.fixture
def database(make_database: Callable[[str], str]) -> Iterator[str]:
    """A real database with the one table the service writes."""
    uri = make_database("registration")
    engine = build_engine(uri, pool_size=1)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE seen (event_id text PRIMARY KEY)"))
    engine.dispose()
    CALLS.clear()
    yield uri


@pytest.fixture
def link(database: str) -> Iterator[Link]:
    """The database, reached through a proxy; cut at the end."""
    way = Link(database)
    yield way
    way.cut()


def start(
    container_factory: Any,
    service_config: Callable[..., dict[str, Any]],
    link: Link,
    queue_type: str,
    **extra: Any,
) -> None:
    """The service on `link`, which is then cut (the database is away)."""
    config = service_config(link.uri, RETRY_DELAYS_MS=RETRIES, QUEUE_TYPE=queue_type, **extra)
    container_factory(RecordingService, config).start()
    link.cut()


def publish(bus: MessageBus, table: str = "seen") -> str:
    event_id = str(uuid.uuid4())
    envelope = {"event_id": event_id, "correlation_id": event_id, "type": "round_discarded"}
    bus.publish_event("allocation", {**envelope, "payload": {"table": table}})
    return event_id


def seen(uri: str) -> list[str]:
    engine = build_engine(uri, pool_size=1)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text("SELECT event_id FROM seen")).scalars())
    finally:
        engine.dispose()


def test_a_message_waits_out_a_database_outage_longer_than_its_retry_budget(
    container_factory: Any,
    service_config: Callable[..., dict[str, Any]],
    database: str,
    link: Link,
    bus: MessageBus,
    amqp_uri: str,
    queue_type: str,
) -> None:
    start(container_factory, service_config, link, queue_type)
    event_id = publish(bus)

    # Three calls would spend the budget of a failing message; eight is well past it.
    wait_for(lambda: len(CALLS) >= 8, timeout=30, what="retries through the outage")
    assert queue_depth(amqp_uri, f"{QUEUE}.dead") == 0
    link.restore()

    wait_for(lambda: seen(database) == [event_id], timeout=30, what="the row once it is back")
    assert queue_depth(amqp_uri, f"{QUEUE}.dead") == 0
    assert queue_depth(amqp_uri, QUEUE) == 0


def test_past_its_cap_an_outage_spends_the_budget_and_parks_the_message(
    container_factory: Any,
    service_config: Callable[..., dict[str, Any]],
    link: Link,
    bus: MessageBus,
    amqp_uri: str,
    queue_type: str,
) -> None:
    start(container_factory, service_config, link, queue_type, DB_OUTAGE_RETRIES=2)
    publish(bus)

    wait_for(
        lambda: queue_depth(amqp_uri, f"{QUEUE}.dead") == 1, timeout=30, what="the dead letter"
    )
    # The first call, two outage retries, then the ordinary two retries.
    assert len(CALLS) == 5


def test_a_statement_that_fails_with_the_database_up_spends_the_budget(
    container_factory: Any,
    service_config: Callable[..., dict[str, Any]],
    link: Link,
    bus: MessageBus,
    amqp_uri: str,
    queue_type: str,
) -> None:
    start(container_factory, service_config, link, queue_type)
    link.restore()
    publish(bus, table="missing")  # the server answers: relation "missing" does not exist

    wait_for(
        lambda: queue_depth(amqp_uri, f"{QUEUE}.dead") == 1, timeout=30, what="the dead letter"
    )
    assert len(CALLS) == 3
