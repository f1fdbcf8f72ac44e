"""The notification service beside a real registration service, e-mailing an aiosmtpd server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from nameko.testing.services import entrypoint_hook, entrypoint_waiter

from services.notification.service import NotificationService
from services.registration.service import RegistrationService
from shared.events import make_message
from shared.messaging.bus import MessageBus
from tests.support import factories
from tests.support.broker import drain
from tests.support.mailbox import read_mailbox, text_of
from tests.support.processes import free_port
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def services(
    make_database: Callable[[str], str],
    container_factory: Any,
    service_config: Callable[..., dict[str, Any]],
    bus: MessageBus,
    smtp_sink: dict[str, Any],
) -> dict[str, Any]:
    """Registration (with the 2027 grade 1 round open) and notification, both running."""
    registration = container_factory(
        RegistrationService, service_config(make_database("registration"))
    )
    registration.start()
    with entrypoint_waiter(registration, "handle_round_opened"):
        bus.publish_event("allocation", factories.round_opened())
    notification = container_factory(
        NotificationService,
        service_config(make_database("notification"), SMTP_PORT=smtp_sink["port"]),
    )
    notification.start()
    return {"registration": registration, "notification": notification}


def test_a_received_application_is_a_receipt_in_the_guardians_language(
    services: dict[str, Any], bus: MessageBus, smtp_sink: dict[str, Any]
) -> None:
    with entrypoint_waiter(services["notification"], "handle_application_received"):
        bus.send_command("registration", factories.submit_application(reference="TSREF00000000A1"))

    [mail] = wait_for(lambda: read_mailbox(smtp_sink["maildir"]), what="the receipt")
    assert mail["To"] == "binh@example.com"
    assert mail["Subject"] == "Đã tiếp nhận hồ sơ tuyển sinh TSREF00000000A1"
    assert "Nguyễn Văn An" in text_of(mail)
    with entrypoint_hook(services["notification"], "list_deliveries") as deliveries:
        [delivery] = deliveries("TSREF00000000A1")
    assert (delivery["channel"], delivery["status"]) == ("email", "sent")


def test_an_english_speaking_guardian_gets_the_english_receipt(
    services: dict[str, Any], bus: MessageBus, smtp_sink: dict[str, Any]
) -> None:
    command = factories.submit_application(reference="TSREF00000000A2", language="en")
    with entrypoint_waiter(services["notification"], "handle_application_received"):
        bus.send_command("registration", command)

    [mail] = wait_for(lambda: read_mailbox(smtp_sink["maildir"]), what="the receipt")
    assert mail["Subject"] == "Application TSREF00000000A2 received"


def test_a_redelivered_event_sends_no_second_mail(
    services: dict[str, Any], bus: MessageBus, smtp_sink: dict[str, Any]
) -> None:
    with entrypoint_waiter(services["registration"], "handle_submit_application"):
        bus.send_command("registration", factories.submit_application(reference="TSREF00000000A3"))
    event = make_message(
        "application_received",
        {"reference": "TSREF00000000A3", "round_id": "2027-grade_1", "status": "received"},
    )

    for _ in range(2):
        with entrypoint_waiter(services["notification"], "handle_application_received"):
            bus.publish_event("registration", event)

    received = wait_for(lambda: read_mailbox(smtp_sink["maildir"]), what="the receipt")
    assert len(received) == 2  # the outbox's own event and ours: two events, not three mails
    with entrypoint_hook(services["notification"], "list_deliveries") as deliveries:
        assert len(deliveries("TSREF00000000A3")) == 2


def test_with_the_mail_server_down_the_event_is_retried_then_dead_lettered(
    make_database: Callable[[str], str],
    container_factory: Any,
    service_config: Callable[..., dict[str, Any]],
    bus: MessageBus,
    amqp_uri: str,
) -> None:
    closed_port = free_port()
    notification = container_factory(
        NotificationService,
        service_config(make_database("notification"), SMTP_PORT=closed_port),
    )
    registration = container_factory(
        RegistrationService, service_config(make_database("registration"))
    )
    registration.start()
    with entrypoint_waiter(registration, "handle_round_opened"):
        bus.publish_event("allocation", factories.round_opened())
    notification.start()

    bus.send_command("registration", factories.submit_application(reference="TSREF00000000A4"))

    dead = "notification.on.registration.application_received.dead"
    [(body, headers)] = drain(amqp_uri, dead, expect=1, timeout=20)
    assert body["payload"]["reference"] == "TSREF00000000A4"
    assert headers["x-tuyensinh-failure"].endswith("DeliveryFailed")
    with entrypoint_hook(notification, "list_deliveries") as deliveries:
        assert deliveries("TSREF00000000A4") == []
