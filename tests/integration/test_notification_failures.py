"""Failures on the way to the parent: transient ones are retried on that channel alone, permanent
ones are recorded and not retried, and what kept failing is replayed from the dead-letter queue."""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from services.notification.delivery.channels import Outgoing
from services.notification.delivery.smtp import SmtpTransport
from services.notification.rendering.render import render_email
from services.notification.settings import SmtpSettings
from shared.contracts.envelope import make_message
from shared.messaging.bus import MessageBus
from tests.conftest import start_smtp_sink
from tests.integration.notification_support import (
    REFUSING_SMTP,
    deliveries,
    mails,
    publish,
    submit,
)
from tests.support.broker import drain, queue_depth
from tests.support.processes import BIN, ROOT, Processes, free_port, port_open
from tests.support.waiting import wait_for
from tests.unit.notification.examples import DEADLINE, seat

pytestmark = pytest.mark.integration
pytest_plugins = ["tests.integration.notification_support"]

RECEIPTS = "notification.on.registration.application_received"


def status_of(notification: Any, reference: str, channel: str) -> Any:
    """The one delivery row of a channel, once it exists."""
    rows = deliveries(notification, reference, channel=channel)
    return rows[0] if rows else None


def test_with_the_mail_server_down_an_email_is_retried_then_delivered_once_it_is_back(
    start_notification: Callable[..., Any],
    bus: MessageBus,
    sms_sink: Any,
    outside: Processes,
    tmp_path: Path,
) -> None:
    port = free_port()
    notification = start_notification(SMTP_PORT=port, RETRY_DELAYS_MS=[1000, 3000])

    submit(bus, notification, "TSREF00000000B1")
    deferred = status_of(notification, "TSREF00000000B1", "email")
    assert (deferred["status"], deferred["last_error"]) == ("deferred", "smtp_unreachable")
    start_smtp_sink(outside, port, tmp_path / "late-mail")

    wait_for(
        lambda: status_of(notification, "TSREF00000000B1", "email")["status"] == "sent",
        timeout=10,
        what="the retried e-mail",
    )
    assert len(mails(tmp_path / "late-mail")) == 1
    assert status_of(notification, "TSREF00000000B1", "email")["attempts"] >= 2
    assert len(sms_sink.messages()) == 1  # the SMS went on the first try and was not resent
    assert status_of(notification, "TSREF00000000B1", "sms")["attempts"] == 1


def test_a_provider_answering_503_is_retried_without_resending_the_email(
    start_notification: Callable[..., Any],
    bus: MessageBus,
    smtp_sink: dict[str, Any],
    sms_sink: Any,
) -> None:
    notification = start_notification()
    sms_sink.control(fail=[503, 503])

    submit(bus, notification, "TSREF00000000B2")

    wait_for(
        lambda: status_of(notification, "TSREF00000000B2", "sms")["status"] == "sent",
        what="the SMS on its third try",
    )
    assert status_of(notification, "TSREF00000000B2", "sms")["attempts"] == 3
    assert (sms_sink.requests(), len(sms_sink.messages())) == (3, 1)
    assert len(mails(smtp_sink["maildir"])) == 1


def sample(name: str, **labels: str) -> float:
    """A series' value in this process's registry (the containers run in it); 0 if unseen."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def notices(channel: str, status: str) -> float:
    labels = {"template": "application_received", "channel": channel, "status": status}
    return sample("notification_notices_total", **labels)


def test_permanent_failures_are_recorded_with_their_reason_and_not_retried(
    start_notification: Callable[..., Any],
    bus: MessageBus,
    sms_sink: Any,
    outside: Processes,
    amqp_uri: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="services.notification")
    port = free_port()
    outside.start("refusing-smtp", [str(BIN / "python"), "-c", REFUSING_SMTP, str(port)], {})
    wait_for(lambda: port_open(port), what="the refusing SMTP server")
    notification = start_notification(SMTP_PORT=port)
    sms_sink.control(fail=[400])
    failed_before = {channel: notices(channel, "failed") for channel in ("email", "sms")}

    submit(bus, notification, "TSREF00000000B3")

    email = status_of(notification, "TSREF00000000B3", "email")
    sms = status_of(notification, "TSREF00000000B3", "sms")
    assert (email["status"], email["last_error"], email["attempts"]) == ("failed", "smtp_550", 1)
    assert (sms["status"], sms["last_error"], sms["attempts"]) == ("failed", "sms_http_400", 1)
    assert status_of(notification, "TSREF00000000B3", "inbox")["status"] == "sent"
    assert queue_depth(amqp_uri, RECEIPTS) == 0
    assert queue_depth(amqp_uri, f"{RECEIPTS}.dead") == 0
    assert sms_sink.requests() == 1
    # The metrics say the same: one failed send on each channel.
    assert {c: notices(c, "failed") - n for c, n in failed_before.items()} == {"email": 1, "sms": 1}
    mine = ("services.notification", "shared.messaging")
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(mine))
    assert "smtp_550" in logged and "TSREF00000000B3" in logged
    for personal in ("binh@example.com", "912345678", "Nguyễn", "No such mailbox"):
        assert personal not in logged


def test_a_dead_lettered_event_is_replayed_with_fresh_retries_and_finally_sent_once(
    start_notification: Callable[..., Any],
    bus: MessageBus,
    sms_sink: Any,
    outside: Processes,
    amqp_uri: str,
    tmp_path: Path,
) -> None:
    port = free_port()
    notification = start_notification(SMTP_PORT=port)
    dead = f"{RECEIPTS}.dead"
    parked_before = sample("tuyensinh_messages_dead_lettered_total", queue=RECEIPTS)
    submit(bus, notification, "TSREF00000000B4")
    wait_for(lambda: queue_depth(amqp_uri, dead) == 1, what="the dead letter")
    assert sample("tuyensinh_messages_dead_lettered_total", queue=RECEIPTS) == parked_before + 1
    listed = dead_letters("list", RECEIPTS, amqp_uri)
    assert "application_received  attempts=3  replayed=0" in listed
    assert "DeliveryFailed" in listed

    assert "replayed 1 message(s)" in dead_letters("replay", RECEIPTS, amqp_uri)
    wait_for(lambda: queue_depth(amqp_uri, dead) == 1, what="the dead letter again")
    assert status_of(notification, "TSREF00000000B4", "email")["attempts"] == 6  # 3 more
    assert "attempts=3  replayed=1" in dead_letters("list", RECEIPTS, amqp_uri)
    start_smtp_sink(outside, port, tmp_path / "late-mail")
    assert "replayed 1 message(s)" in dead_letters("replay", RECEIPTS, amqp_uri)

    wait_for(
        lambda: status_of(notification, "TSREF00000000B4", "email")["status"] == "sent",
        what="the replayed e-mail",
    )
    assert len(mails(tmp_path / "late-mail")) == 1
    assert len(sms_sink.messages()) == 1
    assert queue_depth(amqp_uri, dead) == 0
    assert status_of(notification, "TSREF00000000B4", "email")["attempts"] == 7


def test_poison_goes_straight_to_the_dead_letter_queue_without_retries(
    start_notification: Callable[..., Any],
    bus: MessageBus,
    smtp_sink: dict[str, Any],
    amqp_uri: str,
) -> None:
    notification = start_notification()
    malformed = make_message("seat_offered", seat(deadline=DEADLINE))
    del malformed["payload"]["deadline"]
    unknown = make_message("seat_offered", seat(reference="TSNOSUCHREFERENCE", deadline=DEADLINE))

    for event in (malformed, unknown):
        publish(bus, notification, "allocation", event)

    parked = drain(amqp_uri, "notification.on.allocation.seat_offered.dead", expect=2)
    assert {body["event_id"] for body, _ in parked} == {malformed["event_id"], unknown["event_id"]}
    for _, headers in parked:
        assert headers["x-tuyensinh-failure"] == "shared.contracts.envelope.PoisonMessage"
        assert headers["x-tuyensinh-attempt"] == 1
    assert mails(smtp_sink["maildir"]) == []


def test_a_pooled_smtp_connection_the_server_dropped_is_replaced_without_a_failure(
    outside: Processes, tmp_path: Path
) -> None:
    port = free_port()
    start_smtp_sink(outside, port, tmp_path / "mail")
    transport = SmtpTransport(SmtpSettings(port=port, pool_size=2, idle_check_seconds=0))
    email = render_email("offer_declined", "en", _offer_context())
    first = Outgoing("email", "k1", "offer_declined", "R", "a@example.com", email=email)

    transport.send(first)
    outside.stop("smtp")
    start_smtp_sink(outside, port, tmp_path / "mail")
    transport.send(Outgoing("email", "k2", "offer_declined", "R", "a@example.com", email=email))

    assert len(mails(tmp_path / "mail")) == 2
    transport.close()


def dead_letters(command: str, queue: str, amqp_uri: str) -> str:
    """Run the operator's command as an operator would."""
    done = subprocess.run(
        [str(BIN / "python"), "-m", "tools.dead_letters", command, queue, "--amqp-uri", amqp_uri],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _offer_context() -> dict[str, Any]:
    return {
        "guardian_name": "A",
        "child_name": "B",
        "reference": "R",
        "round_id": "2027-grade_1",
        "round_name": "Grade 1, school year 2027–2028",
        "school_code": "TH-001",
    }
