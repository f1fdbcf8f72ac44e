"""Cost and abuse controls: the SMS daily cap per phone and the login code rate limit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_waiter

from shared.contracts.envelope import make_message
from shared.messaging.bus import MessageBus
from tests.integration.notification_support import deliveries, mails, publish, submit
from tests.unit.notification.examples import seat

pytestmark = pytest.mark.integration
pytest_plugins = ["tests.integration.notification_support"]


def test_sms_beyond_the_daily_cap_are_suppressed_while_emails_still_go(
    start_notification: Callable[..., Any],
    bus: MessageBus,
    smtp_sink: dict[str, Any],
    sms_sink: Any,
) -> None:
    notification = start_notification(SMS_DAILY_CAP=2)
    submit(bus, notification, "TSREF00000000D1")  # SMS 1: the receipt
    submit(bus, notification, "TSREF00000000D2", phone="0987654321")  # another phone

    for event_type in ("offer_accepted", "enrollment_confirmed"):  # SMS 2, then over the cap
        event = make_message(event_type, seat(reference="TSREF00000000D1"))
        publish(bus, notification, "allocation", event).get()

    sms = deliveries(notification, "TSREF00000000D1", channel="sms")
    assert [(row["template"], row["status"]) for row in sms] == [
        ("application_received", "sent"),
        ("offer_accepted", "sent"),
        ("enrollment_confirmed", "suppressed_cap"),
    ]
    assert deliveries(notification, "TSREF00000000D2", channel="sms")[0]["status"] == "sent"
    assert len(sms_sink.messages()) == 3
    assert len(mails(smtp_sink["maildir"])) == 4


def test_the_daily_cap_holds_inside_one_batch_of_notices_to_one_phone(
    start_notification: Callable[..., Any],
    bus: MessageBus,
    sms_sink: Any,
) -> None:
    notification = start_notification(SMS_DAILY_CAP=3)
    submit(bus, notification, "TSREF00000000E1")  # SMS 1: the receipt
    offers = [make_message("offer_accepted", seat(reference="TSREF00000000E1")) for _ in range(4)]
    # Published back to back, the four reach the notifier as one batch (one chunk, one count).
    with entrypoint_waiter(notification, "handle_offer_accepted"):
        for offer in offers:
            bus.publish_event("allocation", offer)

    sms = deliveries(notification, "TSREF00000000E1", channel="sms", template="offer_accepted")
    assert sorted(row["status"] for row in sms) == ["sent", "sent"] + ["suppressed_cap"] * 2
    assert len(sms_sink.messages()) == 3


def test_login_codes_are_rate_limited_per_phone_with_a_clear_refusal(
    start_notification: Callable[..., Any], amqp_uri: str, sms_sink: Any
) -> None:
    start_notification(OTP_MAX_PER_WINDOW=3)

    with ServiceRpcProxy("notification", {"AMQP_URI": amqp_uri}, timeout=10) as rpc:
        for code in ("111111", "222222", "333333"):
            rpc.send_otp("0912345678", "vi", code)
        with pytest.raises(RemoteError) as refused:
            rpc.send_otp("+84 912 345 678", "vi", "444444")  # the same phone, typed otherwise
        rpc.send_otp("0987654321", "en", "555555")  # another phone is not held back
        with pytest.raises(RemoteError) as invalid:
            rpc.send_otp("12", "vi", "666666")

    assert refused.value.exc_type == "OtpRateLimited"
    assert "retry after" in str(refused.value.value)
    assert invalid.value.exc_type == "OtpNotSent"
    texts = [message["text"] for message in sms_sink.messages()]
    assert len(texts) == 4
    assert texts[0] == "Mã OTP Tuyển sinh: 111111, hiệu lực 5 phút. Không đưa mã cho ai."
    assert texts[3].startswith("Your admissions login code is 555555.")
