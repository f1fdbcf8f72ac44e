"""Fixtures and helpers of the notification integration tests.

The notification service runs beside a real registration service (for `get_application`), on
the test's own RabbitMQ vhost and PostgreSQL databases. The outside world is played by
processes that speak the real protocols: aiosmtpd (tools.smtp_sink) as the mail server and
tools.sms_sink as the SMS provider's HTTP API, which a test can tell to fail or to stall.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from nameko.testing.services import entrypoint_hook, entrypoint_waiter

from services.notification.service import NotificationService
from services.registration.service import RegistrationService
from shared.messaging.bus import MessageBus
from tests.support import factories
from tests.support.mailbox import read_mailbox
from tests.support.processes import BIN, Processes, free_port, port_open
from tests.support.waiting import wait_for
from tools.topology import declare_all

SMS_TOKEN = "Bearer test-sms-token"
PHONE = "+84912345678"  # factories' guardian phone, 0912345678, as the provider gets it
_citizens = itertools.count(1)

# An SMTP server that refuses every recipient for good (550), to see a permanent failure.
REFUSING_SMTP = """
import asyncio, sys
from aiosmtpd.controller import Controller

class Refuse:
    async def handle_RCPT(self, server, session, envelope, address, options):
        return "550 5.1.1 No such mailbox"

Controller(Refuse(), hostname="127.0.0.1", port=int(sys.argv[1])).start()
asyncio.run(asyncio.Event().wait())
"""


class SmsSink:
    """The HTTP SMS provider fake, running in its own process."""

    def __init__(self, processes: Processes) -> None:
        self.processes, self.port = processes, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [str(BIN / "python"), "-m", "tools.sms_sink", "--port", str(self.port)]
        processes.start("sms", [*args, "--token", SMS_TOKEN, "--outbox", "", "--quiet"], {})
        wait_for(lambda: port_open(self.port), timeout=15, what="the SMS sink")

    def messages(self, event_id: str = "") -> list[dict[str, Any]]:
        """Accepted messages, optionally only the one about an event (by its client_ref)."""
        answer = requests.get(f"{self.url}/messages", timeout=5).json()["messages"]
        return [message for message in answer if event_id in message.get("client_ref", "")]

    def requests(self) -> int:
        """Requests received, accepted or not."""
        return int(requests.get(f"{self.url}/requests", timeout=5).json()["requests"])

    def control(self, **command: Any) -> None:
        """Tell the provider to fail (`fail=[503]`) or stall (`delay_seconds=30`)."""
        requests.post(f"{self.url}/control", json=command, timeout=5).raise_for_status()


@pytest.fixture
def sms_sink(tmp_path: Path) -> Iterator[SmsSink]:
    """A running SMS provider fake."""
    processes = Processes(tmp_path / "sms-logs")
    yield SmsSink(processes)
    processes.stop_all()


@pytest.fixture
def outside(tmp_path: Path) -> Iterator[Processes]:
    """Processes a test starts itself (a late mail server, a refusing one, a notifier)."""
    processes = Processes(tmp_path / "outside-logs")
    yield processes
    processes.stop_all()


@pytest.fixture
def registration(
    make_database: Callable[[str], str],
    container_factory: Any,
    service_config: Callable[..., dict[str, Any]],
    bus: MessageBus,
) -> Any:
    """A running registration service with the 2027 grade 1 round open, on a broker with the
    whole topology declared (the deploy step): a notifier started after it misses nothing."""
    config = service_config(make_database("registration"))
    declare_all(config["AMQP_URI"], config["RETRY_DELAYS_MS"])
    container = container_factory(RegistrationService, config)
    container.start()
    with entrypoint_waiter(container, "handle_round_opened"):
        bus.publish_event("allocation", factories.round_opened())
    return container


@pytest.fixture
def notification_config(
    make_database: Callable[[str], str],
    service_config: Callable[..., dict[str, Any]],
    smtp_sink: dict[str, Any],
    sms_sink: SmsSink,
) -> Callable[..., dict[str, Any]]:
    """Config for a notifier that mails the SMTP sink and texts the SMS sink."""

    def config(**extra: Any) -> dict[str, Any]:
        channels = {
            "SMTP_PORT": smtp_sink["port"],
            "SMS_TRANSPORT": "http",
            "SMS_URL": f"{sms_sink.url}/sms",
            "SMS_AUTH_VALUE": SMS_TOKEN,
        }
        return service_config(make_database("notification"), **{**channels, **extra})

    return config


@pytest.fixture
def start_notification(
    registration: Any, container_factory: Any, notification_config: Callable[..., dict[str, Any]]
) -> Callable[..., Any]:
    """Starts a notifier (beside the registration service) with config overrides."""

    def start(**extra: Any) -> Any:
        container = container_factory(NotificationService, notification_config(**extra))
        container.start()
        return container

    return start


def submit(
    bus: MessageBus,
    notification: Any,
    reference: str,
    language: str = "vi",
    phone: str = "",
    owner_id: str | None = None,
) -> None:
    """A parent applies; returns once the notifier handled the receipt."""
    command = factories.submit_application(
        reference=reference,
        language=language,
        citizen_id=f"0012210{next(_citizens):05d}",
        owner_id=owner_id,
    )
    if phone:
        command["payload"]["guardian"]["phone"] = phone
    with entrypoint_waiter(notification, "handle_application_received"):
        bus.send_command("registration", command)


def publish(bus: MessageBus, notification: Any, source: str, envelope: dict[str, Any]) -> Any:
    """Publish an event and wait until the notifier's handler has run; returns its result."""
    with entrypoint_waiter(notification, f"handle_{envelope['type']}") as result:
        bus.publish_event(source, envelope)
    return result


def deliveries(notification: Any, reference: str, **match: Any) -> list[dict[str, Any]]:
    """`list_deliveries` over the entrypoint, filtered by equal fields."""
    with entrypoint_hook(notification, "list_deliveries") as list_deliveries:
        rows = list_deliveries(reference)
    return [row for row in rows if all(row[key] == value for key, value in match.items())]


def mails(maildir: Path, template: str = "") -> list[Any]:
    """Mail the sink accepted, optionally of one template."""
    return [
        mail
        for mail in read_mailbox(maildir)
        if not template or mail["X-Tuyensinh-Template"] == template
    ]
