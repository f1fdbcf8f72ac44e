"""The notifier killed after it sent and before it acked: after a restart, nothing twice.

The notifier runs as a real `nameko run` process. The SMS provider fake records the message,
then stalls its answer, so the kill lands exactly in the window between the send and its
record; RabbitMQ redelivers the unacked event to the restarted notifier.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from typing import Any

import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from shared.messaging.bus import MessageBus
from tests.integration.notification_support import SMS_TOKEN, mails
from tests.support import factories
from tests.support.processes import Processes
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration
pytest_plugins = ["tests.integration.notification_support"]


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
