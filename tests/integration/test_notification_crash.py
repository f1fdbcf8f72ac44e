"""The notifier or its database dies between a send and its record: nothing twice, nothing lost.

The SMS provider fake (or a mail server written for the test) records the message, then
stalls its answer, so the kill lands exactly in the window between the send and its record.
In the first test the notifier is a real `nameko run` process, SIGKILLed, and RabbitMQ
redelivers the unacked event to the restarted one. In the second PostgreSQL drops the
notifier's connections (as when it restarts), and the event comes back by the retry queue.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy.engine import make_url

from services.notification.service import NotificationService
from shared.messaging.bus import MessageBus
from tests.integration.notification_support import PHONE, SMS_TOKEN, deliveries, mails
from tests.support import factories
from tests.support.broker import queue_depth
from tests.support.processes import BIN, Processes, free_port, port_open
from tests.support.tcp_proxy import TcpProxy
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration
pytest_plugins = ["tests.integration.notification_support"]

# A mail server that keeps each message, then holds its "250" until a file appears: the
# notifier has handed the e-mail over but cannot know it yet.
STALLING_SMTP = """
import asyncio, pathlib, sys, time
from aiosmtpd.controller import Controller

maildir, release = pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
maildir.mkdir(parents=True, exist_ok=True)

class Stall:
    async def handle_DATA(self, server, session, envelope):
        part = maildir / f"{time.time_ns()}.part"
        part.write_bytes(envelope.content)
        part.rename(part.with_suffix(".eml"))
        while not release.exists():
            await asyncio.sleep(0.05)
        return "250 Message accepted for delivery"

Controller(Stall(), hostname="127.0.0.1", port=int(sys.argv[1])).start()
asyncio.run(asyncio.Event().wait())
"""


def test_a_notifier_killed_between_send_and_ack_sends_nothing_twice_after_a_restart(
    registration: Any,
    make_database: Callable[[str], str],
    bus: MessageBus,
    amqp_uri: str,
    smtp_sink: dict[str, Any],
    sms_sink: Any,
    outside: Processes,
) -> None:
    env = {
        "AMQP_URI": amqp_uri,
        "NOTIFICATION_DB_URI": make_database("notification"),
        "SMTP_PORT": str(smtp_sink["port"]),
        "SMS_TRANSPORT": "http",
        "SMS_URL": f"{sms_sink.url}/sms",
        "SMS_AUTH_VALUE": SMS_TOKEN,
        "SMS_TIMEOUT_SECONDS": "60",
        "RETRY_DELAYS_MS": json.dumps([100, 300]),
    }
    sms_sink.control(delay_seconds=60)
    outside.nameko("notification", env)

    bus.send_command("registration", factories.submit_application(reference="TSREF00000000C1"))
    wait_for(sms_sink.messages, timeout=30, what="the SMS to reach the provider")
    assert len(mails(smtp_sink["maildir"])) == 1
    outside.stop("notification", signal.SIGKILL)
    sms_sink.control(delay_seconds=0)
    outside.nameko("notification", env)

    def statuses() -> dict[str, str]:
        with ServiceRpcProxy("notification", {"AMQP_URI": amqp_uri}, timeout=10) as rpc:
            rows = rpc.list_deliveries("TSREF00000000C1")
        return {row["channel"]: row["status"] for row in rows}

    wait_for(lambda: statuses().get("sms") == "uncertain", timeout=30, what="the redelivery")
    assert statuses() == {"inbox": "sent", "email": "sent", "sms": "uncertain"}
    assert len(mails(smtp_sink["maildir"])) == 1
    assert len(sms_sink.messages()) == 1
    outside.stop("notification", signal.SIGKILL)  # nothing to wait for: the test is over


def test_a_database_lost_while_recording_the_email_loses_no_sms_on_redelivery(
    registration: Any,
    container_factory: Any,
    notification_config: Callable[..., dict[str, Any]],
    bus: MessageBus,
    amqp_uri: str,
    sms_sink: Any,
    outside: Processes,
    tmp_path: Path,
) -> None:
    port, maildir, release = free_port(), tmp_path / "mail", tmp_path / "release"
    args = [str(BIN / "python"), "-c", STALLING_SMTP, str(port), str(maildir), str(release)]
    outside.start("stalling-smtp", args, {})
    wait_for(lambda: port_open(port), what="the stalling SMTP server")
    config = notification_config(SMTP_PORT=port, SMTP_TIMEOUT_SECONDS=60, RETRY_DELAYS_MS=[2000])
    database = make_url(config["DB_URI"])
    proxy = TcpProxy(database.host or "127.0.0.1", database.port or 5432)
    config["DB_URI"] = database.set(port=proxy.port).render_as_string(hide_password=False)
    notification = container_factory(NotificationService, config)
    notification.start()

    bus.send_command("registration", factories.submit_application(reference="TSREF00000000C2"))
    wait_for(lambda: mails(maildir), timeout=30, what="the e-mail to reach the mail server")
    proxy.cut()  # PostgreSQL is gone for the notifier: the record of the e-mail fails
    release.touch()
    wait_for(lambda: queue_depth(amqp_uri, "tuyensinh.delay.2000ms") == 1, what="the retry")
    proxy = TcpProxy(database.host or "127.0.0.1", database.port or 5432, port=proxy.port)

    def statuses() -> dict[str, str]:
        return {
            row["channel"]: row["status"] for row in deliveries(notification, "TSREF00000000C2")
        }

    wait_for(lambda: statuses().get("sms") == "sent", timeout=30, what="the SMS on redelivery")
    assert statuses() == {"inbox": "sent", "email": "uncertain", "sms": "sent"}
    assert len(mails(maildir)) == 1
    [sms] = sms_sink.messages()
    assert sms["to"] == PHONE
    proxy.cut()
