"""Fixtures for every tier of tests.

Nothing inside the system is faked. RabbitMQ and PostgreSQL are the real servers on this
machine: each test gets its own RabbitMQ vhost and its own freshly migrated databases, and a
server that is missing makes the test fail, never skip. The one stand-in is for something
outside the system, the parents' mail server, and it is aiosmtpd speaking real SMTP.

The services run on eventlet, so the test process is monkey-patched before anything else,
as nameko's test tools expect.
"""

from __future__ import annotations

import eventlet

eventlet.monkey_patch()

from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402

from shared.messaging.bus import MessageBus  # noqa: E402
from tests.support.broker import create_vhost, delete_vhost  # noqa: E402
from tests.support.databases import create_database, drop_database  # noqa: E402
from tests.support.processes import Processes, free_port  # noqa: E402

FAST_RETRIES = [100, 300]


@pytest.fixture
def amqp_uri() -> Iterator[str]:
    """A throwaway vhost on the real broker."""
    uri = create_vhost()
    yield uri
    delete_vhost(uri)


@pytest.fixture
def bus(amqp_uri: str) -> MessageBus:
    """Confirmed publishing into the test's vhost."""
    return MessageBus(amqp_uri)


@pytest.fixture
def make_database() -> Iterator[Callable[[str], str]]:
    """Creates migrated PostgreSQL databases for services; drops them afterwards."""
    created: list[str] = []

    def make(service: str) -> str:
        created.append(create_database(service))
        return created[-1]

    yield make
    for uri in created:
        drop_database(uri)


@pytest.fixture
def container_factory(make_database: Any, container_factory: Any) -> Any:
    """nameko's factory, set up after the databases, so its containers stop before they drop."""
    return container_factory


@pytest.fixture
def service_config(amqp_uri: str) -> Callable[..., dict[str, Any]]:
    """nameko config for a service under test: fast retries and a quick outbox poll."""

    def config(db_uri: str, **extra: Any) -> dict[str, Any]:
        return {
            "AMQP_URI": amqp_uri,
            "DB_URI": db_uri,
            "DB_POOL_SIZE": 5,
            "RETRY_DELAYS_MS": FAST_RETRIES,
            "OUTBOX_POLL_SECONDS": 0.2,
            # Open and close take effect at once here (tests/e2e/test_round_close.py gives notice).
            "WINDOW_NOTICE_SECONDS": 0,
            "max_workers": 10,
            **extra,
        }

    return config


@pytest.fixture
def smtp_sink(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A real SMTP server (tools.smtp_sink, aiosmtpd) in its own process, saving to a maildir."""
    processes = Processes(tmp_path / "logs")
    port = free_port()
    maildir = tmp_path / "mail"
    sink = {"port": port, "maildir": maildir, "processes": processes}
    start_smtp_sink(processes, port, maildir)
    yield sink
    processes.stop_all()


def start_smtp_sink(processes: Processes, port: int, maildir: Path) -> None:
    """Start the sink and wait until it accepts connections."""
    from tests.support.processes import BIN, port_open
    from tests.support.waiting import wait_for

    args = [str(BIN / "python"), "-m", "tools.smtp_sink", "--port", str(port)]
    processes.start("smtp", [*args, "--maildir", str(maildir)], {})
    wait_for(lambda: port_open(port), timeout=15, what="the SMTP sink")
