"""Delivering one notice on every channel: the inbox, e-mail and SMS, each exactly once.

Channels are independent: each has its own ledger row, so a retry of the event after one
channel failed sends only that channel again. A transient failure on any channel makes the
whole event fail after the others were tried, which sends it round the retry queues; a
permanent one is recorded and the event succeeds.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from services.notification import inbox, ledger
from services.notification.channels import (
    ConsoleTransport,
    HttpSmsTransport,
    Outgoing,
    PermanentFailure,
    TransientFailure,
    Transport,
)
from services.notification.exceptions import DeliveryFailed
from services.notification.messages import Email, render_email, render_sms
from services.notification.notices import Contacts, Notice
from services.notification.policy import DEFERRED, FAILED, SENT
from services.notification.settings import Settings
from services.notification.sms import normalise_phone, prepare
from services.notification.smtp import SmtpTransport

log = logging.getLogger(__name__)


class Notifier:
    """Holds the configured transports and sends notices and login codes through them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.email = _email_transport(settings)
        self.sms = _sms_transport(settings)

    def notify(
        self,
        session: Session,
        notice: Notice,
        contacts: Contacts,
        channels: frozenset[str] = frozenset(("email", "sms")),
    ) -> None:
        """Deliver `notice` to the inbox and on `channels`; raises DeliveryFailed if a channel
        should be tried again."""
        email = render_email(notice.template, notice.language, notice.context)
        sends = [s for s in self._sends(notice, contacts, email) if s[0].channel in channels]
        plans = [plan for plan, _, _ in sends]
        claimed = ledger.claim(session, notice, plans, inbox.row_for(notice, email))
        deferred = []
        for plan, transport, outgoing in sends:
            if plan.channel in claimed:
                code = _send(session, transport, notice, outgoing)
                deferred += [code] if code else []
        if deferred:
            raise DeliveryFailed(f"event {notice.event_id}: {', '.join(deferred)}")

    def sms_text(self, template: str, language: str, context: dict[str, object]) -> str:
        """The SMS as it will be sent (NFC, one line, folded if diacritics are off)."""
        rendered = render_sms(template, language, dict(context))
        return prepare(rendered, diacritics=self.settings.sms.diacritics)

    def close(self) -> None:
        """Release the transports' connections."""
        for transport in (self.email, self.sms):
            if transport is not None:
                transport.close()

    def _sends(
        self, notice: Notice, contacts: Contacts, email: Email
    ) -> list[tuple[ledger.Plan, Transport, Outgoing]]:
        # What to send on each enabled channel, and how the ledger should record it.
        secret, sends = self.settings.recipient_secret, []
        if self.email is not None:
            plan = ledger.Plan(
                "email", self.email.name, ledger.recipient_key(secret, contacts.email)
            )
            outgoing = _outgoing(notice, "email", contacts.email, email=email)
            sends.append((plan, self.email, outgoing))
        if self.sms is not None:
            phone = _phone(contacts.phone)
            key = ledger.recipient_key(secret, phone) if phone else None
            plan = ledger.Plan("sms", self.sms.name, key, self.settings.sms.daily_cap)
            text = self.sms_text(notice.template, notice.language, notice.context)
            sends.append((plan, self.sms, _outgoing(notice, "sms", phone or "", text=text)))
        return sends


def _outgoing(
    notice: Notice, channel: str, recipient: str, *, email: Email | None = None, text: str = ""
) -> Outgoing:
    return Outgoing(
        channel=channel,
        key=f"{notice.event_id}.{channel}",
        template=notice.template,
        reference=notice.reference,
        recipient=recipient,
        email=email,
        text=text if channel == "sms" else None,
    )


def _send(session: Session, transport: Transport, notice: Notice, outgoing: Outgoing) -> str | None:
    """Send one claimed message and settle its row; the code of a transient failure, or None."""
    event_id, channel = notice.event_id, outgoing.channel
    try:
        transport.send(outgoing)
    except PermanentFailure as exc:
        ledger.settle(session, event_id, channel, FAILED, exc.code)
        _log(notice, channel, FAILED, exc.code)
        return None
    except Exception as exc:
        # Transient, or a bug: either way the event goes round the retry queues and can be
        # replayed from the dead-letter queue once fixed. Only the type is kept: a message
        # may quote an address.
        code = exc.code if isinstance(exc, TransientFailure) else f"error_{type(exc).__name__}"
        ledger.settle(session, event_id, channel, DEFERRED, code[:40])
        _log(notice, channel, DEFERRED, code)
        return code
    ledger.settle(session, event_id, channel, SENT)
    return None


def _email_transport(settings: Settings) -> Transport | None:
    if settings.email_transport == "smtp":
        return SmtpTransport(settings.smtp)
    return ConsoleTransport() if settings.email_transport == "console" else None


def _sms_transport(settings: Settings) -> Transport | None:
    if settings.sms_transport == "http":
        return HttpSmsTransport(settings.sms)
    return ConsoleTransport() if settings.sms_transport == "console" else None


def _phone(phone: str) -> str | None:
    try:
        return normalise_phone(phone)
    except ValueError:
        return None


def _log(notice: Notice, channel: str, status: str, code: str) -> None:
    log.warning(
        "delivery %s: event=%s reference=%s template=%s channel=%s error=%s",
        status,
        notice.event_id,
        notice.reference,
        notice.template,
        channel,
        code,
    )
