"""A parent's preferences, and practice rounds, as the notification service applies them, on the
real RabbitMQ and PostgreSQL with the SMTP and SMS provider fakes: the chosen language and
channels are used for every later notice; a practice round's notices reach the inbox only,
and a wiped practice round's notices are gone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from nameko.testing.services import entrypoint_hook, entrypoint_waiter

from shared.contracts.envelope import make_message
from shared.messaging.bus import MessageBus
from tests.integration.notification_support import SmsSink, deliveries, mails, submit
from tests.support import factories

pytestmark = pytest.mark.integration
pytest_plugins = ["tests.integration.notification_support"]

PRACTICE = "practice-2027-grade_1"


def test_a_parent_who_chose_english_and_text_messages_gets_no_e_mail(
    start_notification: Callable[..., Any],
    bus: MessageBus,
    smtp_sink: dict[str, Any],
    sms_sink: SmsSink,
) -> None:
    notification = start_notification()
    with entrypoint_hook(notification, "set_preferences") as set_preferences:
        saved = set_preferences("account-1", language="en", email=False, sms=True)
    assert saved == {"language": "en", "email": False, "sms": True}

    submit(bus, notification, "TSPREF0000000001", language="vi", owner_id="account-1")

    assert [d["channel"] for d in deliveries(notification, "TSPREF0000000001")] == ["inbox", "sms"]
    assert mails(smtp_sink["maildir"]) == []
    [text] = [m["text"] for m in sms_sink.messages()]
    assert "TSPREF0000000001" in text and "received" in text.lower()
    with entrypoint_hook(notification, "list_inbox") as list_inbox:
        [notice] = list_inbox("TSPREF0000000001")
    assert notice["language"] == "en"
    with entrypoint_hook(notification, "get_preferences") as get_preferences:
        assert get_preferences("account-2") == {"language": None, "email": True, "sms": True}


def test_a_practice_round_tells_the_inbox_only_and_its_wipe_removes_the_notices(
    start_notification: Callable[..., Any],
    registration: Any,
    bus: MessageBus,
    smtp_sink: dict[str, Any],
    sms_sink: SmsSink,
) -> None:
    notification = start_notification()
    opened = make_message("round_opened", {**_payload(), "practice": True})
    with entrypoint_waiter(registration, "handle_round_opened"):
        bus.publish_event("allocation", opened)
    command = factories.submit_application(
        reference="TSPRACTICE000001", round_id=PRACTICE, citizen_id="001221099001"
    )
    with entrypoint_waiter(notification, "handle_application_received"):
        bus.send_command("registration", command)

    assert [d["channel"] for d in deliveries(notification, "TSPRACTICE000001")] == ["inbox"]
    assert mails(smtp_sink["maildir"]) == [] and sms_sink.requests() == 0

    discarded = make_message("round_discarded", {"round_id": PRACTICE})
    with entrypoint_waiter(notification, "handle_round_discarded"):
        bus.publish_event("allocation", discarded)
    with entrypoint_hook(notification, "list_inbox") as list_inbox:
        assert list_inbox("TSPRACTICE000001") == []
    assert deliveries(notification, "TSPRACTICE000001") == []


def _payload() -> dict[str, Any]:
    return {"round_id": PRACTICE, "level": "grade_1", "year": 2027, "max_preferences": 3}
