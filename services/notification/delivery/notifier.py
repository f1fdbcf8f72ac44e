"""Delivering notices on every channel: the inbox, e-mail and SMS, each exactly once.

Channels go one after the other (see `ledger`): claim a channel's sends, send them, record
how they ended, then the next channel. A batch of notices shares those steps in chunks as
large as the transport's connection pool: a chunk is claimed in one commit, goes out in
parallel, and is recorded in the commit that claims the next chunk (or its own after the
last), so a crash can leave `uncertain` only the sends
that were really being handed over, at most one per connection. A
transient failure on any send makes the whole call fail after every channel was tried,
which sends the events round the retry queues; a permanent one is recorded and done.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from eventlet.greenpool import GreenPool
from sqlalchemy.orm import Session

from services.notification.delivery import inbox, ledger, ledger_rows
from services.notification.delivery.channels import (
    ConsoleTransport,
    HttpSmsTransport,
    Outgoing,
    PermanentFailure,
    TransientFailure,
    Transport,
)
from services.notification.delivery.recipients import recipient_key
from services.notification.delivery.sms import fit, normalise_phone, prepare
from services.notification.delivery.smtp import SmtpTransport
from services.notification.exceptions import DeliveryFailed
from services.notification.metrics import record_send
from services.notification.policy import DEFERRED, FAILED, SENT
from services.notification.rendering.notices import Contacts, Notice
from services.notification.rendering.render import Email, render_email, render_sms
from services.notification.settings import Settings, SmsSettings, SmtpSettings


class Notifier:
    """Holds the configured transports and sends notices and login codes through them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.email = _email_transport(settings)
        self.sms = _sms_transport(settings)

    def notify(
        self, session: Session, notices: Sequence[tuple[Notice, Contacts, frozenset[str]]]
    ) -> None:
        """Deliver each notice to the inbox and, on the channels given with it, to its
        contacts; raises DeliveryFailed if a send should be tried again (the others are
        recorded, so a retry sends only what is missing)."""
        batch = list({entry[0].event_id: entry for entry in reversed(notices)}.values())
        emails = {n.event_id: render_email(n.template, n.language, n.context) for n, _, _ in batch}
        inbox_rows = [inbox.row_for(notice, emails[notice.event_id]) for notice, _, _ in batch]
        deferred: list[str] = []
        settling: ledger.Settlement | None = None
        # One read for the batch: a chunk whose events have no rows yet claims without one.
        rows_before = ledger_rows.existing(session, [notice.event_id for notice, _, _ in batch])
        for channel, transport, parallel in self._channels():
            wanted = [(notice, to) for notice, to, channels in batch if channel in channels]
            # Claimed only as many at a time as go out at once: whatever a crash leaves
            # `sending` was really in the middle of its hand-over, never merely queued.
            for start in range(0, len(wanted), parallel):
                chunk = wanted[start : start + parallel]
                plans = [(notice, self._plan(channel, transport, to)) for notice, to in chunk]
                claimed = ledger.claim(session, plans, inbox_rows, settling, rows_before)
                inbox_rows = []
                sends = [
                    self._outgoing(channel, notice, to, emails[notice.event_id])
                    for notice, to in chunk
                    if notice.event_id in claimed
                ]
                outcomes = _send_all(transport, sends, parallel)
                # Recorded with the next chunk's claim, or on its own after the last one.
                settling = ledger.Settlement(channel, outcomes)
                deferred += [
                    f"{o.event_id}.{channel} {o.error}" for o in outcomes if o.status == DEFERRED
                ]
        if settling is not None:
            ledger.settle(session, settling.channel, settling.outcomes)
        if inbox_rows:  # no channel is enabled: the inbox alone
            ledger.claim(session, [], inbox_rows, rows_before=rows_before)
        if deferred:
            raise DeliveryFailed(f"{len(deferred)} send(s) to retry: {', '.join(deferred[:5])}")

    def sms_text(self, template: str, language: str, context: dict[str, object]) -> str:
        """The SMS as it will be sent (NFC, one line, folded if diacritics are off, shortened
        to SMS_MAX_SEGMENTS parts)."""
        rendered = render_sms(template, language, dict(context))
        text = prepare(rendered, diacritics=self.settings.sms.diacritics)
        return fit(text, self.settings.sms.max_segments)

    def close(self) -> None:
        """Release the transports' connections."""
        for transport in (self.email, self.sms):
            if transport is not None:
                transport.close()

    def _channels(self) -> list[tuple[str, Transport, int]]:
        # E-mail first: it carries the whole message, and it is free. The console sink
        # sends in no time: its chunk is the whole batch.
        channels = []
        if self.email is not None:
            channels.append(("email", self.email, _parallel(self.email, self.settings.smtp)))
        if self.sms is not None:
            channels.append(("sms", self.sms, _parallel(self.sms, self.settings.sms)))
        return channels

    def _plan(self, channel: str, transport: Transport, contacts: Contacts) -> ledger.Plan:
        secret = self.settings.recipient_secret
        if channel == "email":
            return ledger.Plan(channel, transport.name, recipient_key(secret, contacts.email))
        phone = _phone(contacts.phone)
        key = recipient_key(secret, phone) if phone else None
        return ledger.Plan(channel, transport.name, key, self.settings.sms.daily_cap)

    def _outgoing(self, channel: str, notice: Notice, to: Contacts, email: Email) -> Outgoing:
        if channel == "email":
            return _outgoing(notice, channel, to.email, email=email)
        text = self.sms_text(notice.template, notice.language, notice.context)
        return _outgoing(notice, channel, _phone(to.phone) or "", text=text)


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
        event_id=notice.event_id,
    )


def _send_all(transport: Transport, sends: list[Outgoing], parallel: int) -> list[ledger.Outcome]:
    """Send each message, `parallel` at a time (green threads sharing the transport's pool)."""
    if len(sends) <= 1 or parallel <= 1 or isinstance(transport, ConsoleTransport):
        return [_send(transport, outgoing) for outgoing in sends]
    pool = GreenPool(min(parallel, len(sends)))
    return list(pool.imap(lambda outgoing: _send(transport, outgoing), sends))


def _send(transport: Transport, outgoing: Outgoing) -> ledger.Outcome:
    """Send one claimed message; how it ended, for the ledger."""
    try:
        transport.send(outgoing)
    except PermanentFailure as exc:
        _log(outgoing, FAILED, exc.code)
        record_send(outgoing, FAILED)
        return ledger.Outcome(outgoing.event_id, FAILED, exc.code)
    except Exception as exc:
        # Transient, or a bug: either way the event goes round the retry queues and can be
        # replayed from the dead-letter queue once fixed. Only the type is kept: a message
        # may quote an address.
        code = exc.code if isinstance(exc, TransientFailure) else f"error_{type(exc).__name__}"
        _log(outgoing, DEFERRED, code)
        record_send(outgoing, DEFERRED)
        return ledger.Outcome(outgoing.event_id, DEFERRED, code[:40])
    record_send(outgoing, SENT)
    return ledger.Outcome(outgoing.event_id, SENT)


def _parallel(transport: Transport, settings: SmtpSettings | SmsSettings) -> int:
    return max(1, settings.pool_size) if not isinstance(transport, ConsoleTransport) else 1000


def _email_transport(settings: Settings) -> Transport | None:
    if settings.email_transport == "smtp":
        return SmtpTransport(settings.smtp)
    return ConsoleTransport() if settings.email_transport == "console" else None


def _sms_transport(settings: Settings) -> Transport | None:
    if settings.sms_transport == "http":
        return HttpSmsTransport(settings.sms)
    if settings.sms_transport != "console":
        return None
    directory = settings.sms_console_dir
    return ConsoleTransport(Path(directory) if directory else None)


def _phone(phone: str) -> str | None:
    try:
        return normalise_phone(phone)
    except ValueError:
        return None


def _log(outgoing: Outgoing, status: str, code: str) -> None:
    ledger.log_delivery(
        status, outgoing.event_id, outgoing.reference, outgoing.template, outgoing.channel, code
    )
