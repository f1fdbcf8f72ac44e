"""SMTP e-mail over a small pool of persistent connections, each used by one greenthread at a time.

Opening an SMTP session costs a TCP handshake, a greeting and EHLO; at publish time (a quarter
of a million offers) that would dominate. Each greenthread borrows a connection, sends and
gives it back; one that failed is closed and replaced, one idle for a while is probed first.
"""

from __future__ import annotations

import logging
import queue
import re
import smtplib
import threading
import time
from dataclasses import dataclass
from email.header import Header
from email.message import EmailMessage, Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import Compat32

from services.notification.delivery.channels import Outgoing, PermanentFailure, TransientFailure
from services.notification.delivery.mime import email_bytes
from services.notification.settings import SmtpSettings

log = logging.getLogger(__name__)


class _Compat32ShortHeaders(Compat32):
    """compat32, except that a header short and plain enough to need no folding or encoding is
    written as it is: compat32 runs every header through `Header`'s folding machinery, which
    was a sixth of the notifier's time at publish time. The output is byte for byte the same."""

    def _fold(self, name: str, value: object, sanitize: bool) -> str:
        if (
            isinstance(value, str)
            and value.isascii()
            and value.isprintable()  # no CR or LF: nothing to fold, nothing injected
            and len(name) + len(value) + 2 <= (self.max_line_length or 78)
        ):
            return f"{name}: {value}{self.linesep}"
        return super()._fold(name, value, sanitize)  # type: ignore[misc]


SHORT_HEADERS = _Compat32ShortHeaders()


@dataclass
class _Connection:
    client: smtplib.SMTP
    last_used: float


class SmtpTransport:
    """Sends e-mail over pooled SMTP connections; a failure raises Transient/PermanentFailure."""

    name = "smtp"

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        # Under eventlet (nameko run, the tests) both are monkey-patched into green primitives.
        self._idle: queue.LifoQueue[_Connection] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(settings.pool_size)

    def send(self, outgoing: Outgoing) -> None:
        """Deliver one e-mail; a 5xx about the recipient or the message is permanent."""
        assert outgoing.email is not None
        email = outgoing.email
        # The plain case as bytes, built once (see `mime`); the rest through the email package.
        raw = email_bytes(
            self.settings.sender,
            outgoing.recipient,
            outgoing.key,
            outgoing.template,
            email.subject,
            email.text,
            email.html,
        )
        message = raw if raw is not None else build_message(self.settings.sender, outgoing)
        with self._slots:
            connection = self._borrow()
            try:
                if isinstance(message, bytes):
                    send_plain(connection.client, self.settings.sender, outgoing.recipient, message)
                else:
                    connection.client.send_message(message)
            except BaseException as exc:
                connection.client.close()  # no QUIT: the session is in an unknown state
                if isinstance(exc, Exception):
                    raise classify(exc) from exc
                raise
            connection.last_used = time.monotonic()
            self._idle.put(connection)

    def close(self) -> None:
        """Close every idle connection (on container stop)."""
        while True:
            try:
                _quit(self._idle.get_nowait())
            except queue.Empty:
                return

    def _borrow(self) -> _Connection:
        while True:
            try:
                connection = self._idle.get_nowait()
            except queue.Empty:
                return self._connect()
            idle = time.monotonic() - connection.last_used
            if idle < self.settings.idle_check_seconds or _alive(connection):
                return connection
            connection.client.close()  # the server dropped it while it sat idle; next

    def _connect(self) -> _Connection:
        try:
            client = smtplib.SMTP(
                self.settings.host, self.settings.port, timeout=self.settings.timeout
            )
        except (OSError, smtplib.SMTPException) as exc:
            raise TransientFailure("smtp_unreachable") from exc
        return _Connection(client, time.monotonic())


def send_plain(client: smtplib.SMTP, sender: str, recipient: str, data: bytes) -> None:
    """`client.sendmail(sender, [recipient], data)` for the bytes `mime.email_bytes` wrote: the
    same commands, replies and exceptions, without smtplib parsing both addresses again (they
    are plain, `mime` checked them) or a regex pass over the body (no line of that layout
    starts with a dot; one that did would still be escaped). smtplib's address parsing was a
    tenth of a send. On an exception the caller closes the connection."""
    client.ehlo_or_helo_if_needed()
    size = f" size={len(data)}" if client.does_esmtp and client.has_extn("size") else ""
    code, reply = client.docmd("mail", f"FROM:<{sender}>{size}")
    if code != 250:
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    code, reply = client.docmd("rcpt", f"TO:<{recipient}>")
    if code not in (250, 251):
        raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})
    code, reply = client.docmd("data")
    if code != 354:
        raise smtplib.SMTPDataError(code, reply)
    if data.startswith(b".") or b"\n." in data:
        data = re.sub(rb"(?m)^\.", b"..", data)
    client.send(data + (b"." if data.endswith(b"\r\n") else b"\r\n.") + b"\r\n")
    code, reply = client.getreply()
    if code != 250:
        raise smtplib.SMTPDataError(code, reply)


def build_message(sender: str, outgoing: Outgoing) -> Message:
    """The MIME message: text and HTML alternatives, and a Message-ID fixed by the event.

    The same event on the same channel always has the same Message-ID, so a mailbox that
    ever received two copies (an operator's resend) can tell they are one message. The
    legacy (compat32) MIME classes build a message four times faster than EmailMessage;
    only an address outside ASCII needs EmailMessage, which negotiates SMTPUTF8.
    """
    assert outgoing.email is not None
    message: Message
    if outgoing.recipient.isascii():
        message = MIMEMultipart("alternative", policy=SHORT_HEADERS)
        # A Header object, not its string: the generator then folds it after "Subject: ".
        message["Subject"] = Header(outgoing.email.subject, "utf-8")  # type: ignore[assignment]
        message.attach(MIMEText(outgoing.email.text, "plain", "utf-8", policy=SHORT_HEADERS))
        message.attach(MIMEText(outgoing.email.html, "html", "utf-8", policy=SHORT_HEADERS))
        # Our own boundary: the generator's random one is checked against the body with a
        # freshly compiled regex, a tenth of the cost of a message. Base64 parts never
        # contain "=_", so this one cannot clash.
        message.set_boundary(f"=_{outgoing.key}")
    else:
        message = EmailMessage()
        message["Subject"] = outgoing.email.subject
        message.set_content(outgoing.email.text)
        message.add_alternative(outgoing.email.html, subtype="html")
    message["From"] = sender
    message["To"] = outgoing.recipient
    message["Message-ID"] = f"<{outgoing.key}@notification.tuyensinh.local>"
    message["X-Tuyensinh-Template"] = outgoing.template
    return message


def classify(exc: Exception) -> TransientFailure | PermanentFailure:
    """Sort an smtplib failure: refusals of the recipient or message (5xx) are permanent.

    Only reply codes are kept: a server's reply text often quotes the address.
    """
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        worst = min(codes) if codes else 0
        if codes and all(500 <= code < 600 for code in codes):
            return PermanentFailure(f"smtp_{worst}")
        return TransientFailure(f"smtp_{worst}")
    if isinstance(exc, smtplib.SMTPDataError) and 500 <= exc.smtp_code < 600:
        return PermanentFailure(f"smtp_{exc.smtp_code}")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return PermanentFailure("smtp_unsupported")
    if isinstance(exc, smtplib.SMTPResponseException):
        # A refused sender, HELO or connection is about our side or the server: retry.
        return TransientFailure(f"smtp_{exc.smtp_code}")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return TransientFailure("smtp_disconnected")
    if isinstance(exc, TimeoutError):
        return TransientFailure("smtp_timeout")
    if isinstance(exc, OSError):
        return TransientFailure("smtp_unreachable")
    return TransientFailure(f"smtp_{type(exc).__name__}"[:40])


def _alive(connection: _Connection) -> bool:
    try:
        return connection.client.noop()[0] == 250
    except (OSError, smtplib.SMTPException):
        return False


def _quit(connection: _Connection) -> None:
    try:
        connection.client.quit()
    except (OSError, smtplib.SMTPException):
        connection.client.close()
