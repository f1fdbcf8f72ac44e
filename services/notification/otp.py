"""Login codes by SMS, within per-phone rate limits; neither the phone nor the code is kept."""

from __future__ import annotations

import logging
import re
import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.notification.delivery.channels import Outgoing, PermanentFailure, TransientFailure
from services.notification.delivery.notifier import Notifier
from services.notification.delivery.recipients import lock_recipient, recipient_key
from services.notification.delivery.sms import normalise_phone
from services.notification.exceptions import OtpNotSent, OtpRateLimited
from services.notification.metrics import record_send
from services.notification.models import OtpSend
from services.notification.policy import DAY, FAILED, SENDING, SENT, otp_wait_seconds
from services.notification.rendering.notices import OTP_TEMPLATE, language_of

log = logging.getLogger(__name__)


def send_login_code(
    session: Session, notifier: Notifier, phone: str, language: str, code: str, valid_minutes: int
) -> None:
    """Text `code` to `phone`, or raise OtpRateLimited / OtpNotSent.

    Every code handed to the provider counts to the limits, delivered or not: the limits
    protect the phone's owner and the SMS budget, and a failed send may still have cost.
    """
    if notifier.sms is None:
        raise OtpNotSent("sms_off")
    try:
        number = normalise_phone(phone)
    except ValueError:
        raise OtpNotSent("invalid_phone") from None
    if not re.fullmatch(r"\d{4,8}", code) or not 1 <= valid_minutes <= 60:
        raise OtpNotSent("invalid_code")
    key = recipient_key(notifier.settings.recipient_secret, number)
    row = _reserve(session, key, notifier)
    text = notifier.sms_text(
        OTP_TEMPLATE, language_of(language), {"code": code, "valid_minutes": valid_minutes}
    )
    outgoing = Outgoing("sms", f"otp.{uuid.uuid4()}", OTP_TEMPLATE, None, number, text=text)
    try:
        notifier.sms.send(outgoing)
    except (TransientFailure, PermanentFailure) as exc:
        record_send(outgoing, FAILED)
        row.status, row.last_error = FAILED, exc.code
        session.commit()
        log.warning("login code not sent: otp=%s error=%s", row.id, exc.code)
        raise OtpNotSent(exc.code) from None
    record_send(outgoing, SENT)
    row.status = SENT
    session.commit()


def _reserve(session: Session, key: str, notifier: Notifier) -> OtpSend:
    # Count and record under the recipient's lock, so concurrent requests cannot all pass.
    now = datetime.now(UTC)
    lock_recipient(session, key)
    earlier = session.scalars(
        select(OtpSend.created_at).where(
            OtpSend.recipient_key == key, OtpSend.created_at > now - DAY
        )
    ).all()
    wait = otp_wait_seconds(list(earlier), now, notifier.settings.otp)
    if wait:
        session.commit()
        raise OtpRateLimited(wait)
    row = OtpSend(recipient_key=key, status=SENDING, created_at=now)
    session.add(row)
    session.commit()
    return row
