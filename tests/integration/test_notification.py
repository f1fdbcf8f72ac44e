"""The notification service beside a real registration service: every event reaches the guardian
by e-mail (aiosmtpd), SMS (an HTTP provider fake) and the in-app inbox, once, in their language."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from nameko.testing.services import entrypoint_hook, entrypoint_waiter

from services.notification.delivery.sms import shape
from shared.contracts.envelope import make_message
from shared.messaging.bus import MessageBus
from tests.integration.notification_support import PHONE, deliveries, mails, publish, submit
from tests.support.mailbox import text_of
from tests.unit.notification.examples import EVENTS

pytestmark = pytest.mark.integration
pytest_plugins = ["tests.integration.notification_support"]

REGISTRATION_EVENTS = {
    "application_received",
    "application_verified",
    "application_rejected",
    "application_withdrawn",
    "application_refused",
    "correction_requested",
    "correction_decided",
}


def test_a_received_application_reaches_the_guardian_by_email_sms_and_inbox_in_vietnamese(
    start_notification: Callable[..., Any],
    bus: MessageBus,
    smtp_sink: dict[str, Any],
    sms_sink: Any,
) -> None:
    notification = start_notification()

    submit(bus, notification, "TSREF00000000A1")

    [mail] = mails(smtp_sink["maildir"])
    assert mail["To"] == "binh@example.com"
    assert mail["Subject"] == "Đã tiếp nhận hồ sơ tuyển sinh TSREF00000000A1"
    assert "Nguyễn Văn An" in text_of(mail)
    assert 'lang="vi"' in mail.get_body(preferencelist=("html",)).get_content()
    [sms] = sms_sink.messages()
    assert sms["to"] == PHONE
    assert sms["text"].startswith("Tuyển sinh: đã nhận hồ sơ TSREF00000000A1.")
    with entrypoint_hook(notification, "list_inbox") as list_inbox:
        [note] = list_inbox("TSREF00000000A1")
    assert note["subject"] == mail["Subject"]
    rows = deliveries(notification, "TSREF00000000A1")
    assert {(row["channel"], row["status"], row["attempts"]) for row in rows} == {
        ("inbox", "sent", 1),
        ("email", "sent", 1),
        ("sms", "sent", 1),
    }
    event_id = rows[0]["event_id"]
    assert mail["Message-ID"].strip() == f"<{event_id}.email@notification.tuyensinh.local>"
    assert sms["client_ref"] == f"{event_id}.sms"


def test_an_english_speaking_guardian_is_told_in_english_on_every_channel(
    start_notification: Callable[..., Any],
    bus: MessageBus,
    smtp_sink: dict[str, Any],
    sms_sink: Any,
) -> None:
    notification = start_notification()

    submit(bus, notification, "TSREF00000000A2", language="en")

    [mail] = mails(smtp_sink["maildir"])
    assert mail["Subject"] == "Application TSREF00000000A2 received"
    assert 'lang="en"' in mail.get_body(preferencelist=("html",)).get_content()
    [sms] = sms_sink.messages()
    assert sms["text"].startswith("Admissions: application TSREF00000000A2 received.")
    with entrypoint_hook(notification, "list_inbox") as list_inbox:
        assert list_inbox("TSREF00000000A2")[0]["body"].startswith("Dear Nguyễn Thị Bình,")


@pytest.mark.parametrize(
    ("language", "sms_opening", "greeting"),
    [("vi", "Tuyển sinh", "Kính gửi"), ("en", "Admissions", "Dear")],
)
def test_every_parent_facing_event_reaches_the_guardian_on_every_channel(
    start_notification: Callable[..., Any],
    bus: MessageBus,
    smtp_sink: dict[str, Any],
    sms_sink: Any,
    language: str,
    sms_opening: str,
    greeting: str,
) -> None:
    notification = start_notification(SMS_DAILY_CAP=100)
    reference = f"TSREF00000000A3{language.upper()}"
    submit(bus, notification, reference, language=language)
    published = {}

    for event_type, payload, template in EVENTS:
        event = make_message(event_type, {**payload, "reference": reference})
        source = "registration" if event_type in REGISTRATION_EVENTS else "allocation"
        publish(bus, notification, source, event).get()
        published[event["event_id"]] = template

    sent = {mail["Message-ID"].strip(): mail for mail in mails(smtp_sink["maildir"])}
    with entrypoint_hook(notification, "list_inbox") as list_inbox:
        inbox = {note["event_id"]: note for note in list_inbox(reference)}
    for event_id, template in published.items():
        rows = deliveries(notification, reference, event_id=event_id)
        assert {(row["channel"], row["template"], row["status"]) for row in rows} == {
            ("inbox", template, "sent"),
            ("email", template, "sent"),
            ("sms", template, "sent"),
        }
        mail = sent[f"<{event_id}.email@notification.tuyensinh.local>"]
        assert mail["X-Tuyensinh-Template"] == template
        assert text_of(mail).startswith(greeting)
        assert f'lang="{language}"' in mail.get_body(preferencelist=("html",)).get_content()
        [sms] = sms_sink.messages(event_id)
        assert sms["text"].startswith(sms_opening) and reference in sms["text"]
        assert shape(sms["text"]).segments <= (2 if language == "vi" else 1)
        assert (inbox[event_id]["subject"], inbox[event_id]["language"]) == (
            mail["Subject"],
            language,
        )
    assert len(sent) == len(EVENTS) + 1  # and the receipt
    assert len(mails(smtp_sink["maildir"], "waitlist_moved")) == 1


def test_a_redelivered_event_sends_nothing_twice(
    start_notification: Callable[..., Any],
    bus: MessageBus,
    smtp_sink: dict[str, Any],
    sms_sink: Any,
) -> None:
    notification = start_notification()
    submit(bus, notification, "TSREF00000000A4")
    event_type, payload, _ = EVENTS[4]  # a seat offered
    event = make_message(event_type, {**payload, "reference": "TSREF00000000A4"})

    for _ in range(3):
        publish(bus, notification, "allocation", event).get()

    assert len(mails(smtp_sink["maildir"], "seat_offered")) == 1
    assert len(sms_sink.messages(event["event_id"])) == 1
    rows = deliveries(notification, "TSREF00000000A4", event_id=event["event_id"])
    assert sorted(row["channel"] for row in rows) == ["email", "inbox", "sms"]
    with entrypoint_hook(notification, "list_inbox") as list_inbox:
        assert len(list_inbox("TSREF00000000A4")) == 2  # the receipt and the offer


def test_copies_of_one_event_handled_at_the_same_moment_send_once(
    start_notification: Callable[..., Any],
    bus: MessageBus,
    smtp_sink: dict[str, Any],
    sms_sink: Any,
) -> None:
    notification = start_notification()
    submit(bus, notification, "TSREF00000000A6")
    event_type, payload, _ = EVENTS[4]  # a seat offered
    event = make_message(event_type, {**payload, "reference": "TSREF00000000A6"})
    handled = []

    def all_handled(worker_ctx: Any, result: Any, exc_info: Any) -> bool:
        handled.extend(worker_ctx.args[0])  # the copies a batch worker was handed
        return len(handled) == 5

    with entrypoint_waiter(notification, "handle_seat_offered", callback=all_handled):
        for _ in range(5):  # e.g. an outbox relay that crashed before deleting what it sent
            bus.publish_event("allocation", event)

    assert len(mails(smtp_sink["maildir"], "seat_offered")) == 1
    assert len(sms_sink.messages(event["event_id"])) == 1
    rows = deliveries(notification, "TSREF00000000A6", event_id=event["event_id"])
    assert sorted((row["channel"], row["status"]) for row in rows) == [
        ("email", "sent"),
        ("inbox", "sent"),
        ("sms", "sent"),
    ]
