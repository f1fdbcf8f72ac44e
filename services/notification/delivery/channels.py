"""Channels and their transports: what one outgoing message is, how sending it can fail, the SMS
HTTP adapter and the console sink. SMTP lives in `smtp`; the in-app inbox is a table (`inbox`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from string import Template
from typing import Any, Protocol

import requests
from requests.adapters import HTTPAdapter

from services.notification.delivery.sms import shape
from services.notification.rendering.render import Email
from services.notification.settings import SmsSettings

log = logging.getLogger(__name__)


class TransientFailure(Exception):
    """The send may work later (server down, timeout, 4xx SMTP, 5xx/429 HTTP): retry it."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class PermanentFailure(Exception):
    """The send will never work (recipient refused, provider says 4xx): record, do not retry."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Outgoing:
    """One message on one channel: `key` is unique per event and channel (Message-ID, client
    reference), `recipient` the address or E.164 phone, and the rendered e-mail or SMS text."""

    channel: str
    key: str
    template: str
    reference: str | None
    recipient: str
    email: Email | None = None
    text: str | None = None
    event_id: str = ""  # the event a notice is about (none for a login code)


class Transport(Protocol):
    """Something that hands an outgoing message to the outside world."""

    name: str

    def send(self, outgoing: Outgoing) -> None:
        """Send, or raise TransientFailure / PermanentFailure."""

    def close(self) -> None:
        """Release connections."""


class HttpSmsTransport:
    """An SMS provider over HTTP: POST a JSON body built from `SMS_BODY` with an auth header.

    `SMS_BODY` is a mapping whose string values may hold `$to`, `$text`, `$sender`, `$key`,
    `$encoding` and `$segments`; a value that is exactly one placeholder keeps its type. The
    body is built as data and serialised once, so a quote in a text can never break the JSON.
    A provider that dedupes on a client reference (here `$key`) closes the last duplicate
    window: a timeout after the provider took the message.
    """

    name = "http"

    def __init__(self, settings: SmsSettings) -> None:
        self.settings = settings
        self._session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=settings.pool_size)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def send(self, outgoing: Outgoing) -> None:
        """POST the message; 2xx is sent, 408/425/429/5xx transient, other 4xx permanent."""
        assert outgoing.text is not None
        sms = shape(outgoing.text)
        values = {
            "to": outgoing.recipient,
            "text": outgoing.text,
            "sender": self.settings.sender,
            "key": outgoing.key,
            "encoding": sms.encoding,
            "segments": sms.segments,
        }
        headers = {self.settings.auth_header: self.settings.auth_value}
        try:
            response = self._session.post(
                self.settings.url,
                json=fill_body(self.settings.body, values),
                headers=headers,
                timeout=self.settings.timeout,
            )
        except requests.Timeout as exc:
            raise TransientFailure("sms_timeout") from exc
        except requests.RequestException as exc:
            raise TransientFailure("sms_unreachable") from exc
        status = response.status_code
        if 200 <= status < 300:
            return
        if status in (408, 425, 429) or status >= 500:
            raise TransientFailure(f"sms_http_{status}")
        raise PermanentFailure(f"sms_http_{status}")

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._session.close()


class ConsoleTransport:
    """The development sink. E-mail: one log line per message, with IDs only. SMS (`directory`
    given): the whole text, a login code included, is printed with the phone's last three
    digits and saved in `directory` as one file per message, so that a parent can sign up
    under `make run`. For development only: the real provider adapter is `HttpSmsTransport`."""

    name = "console"

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory

    def send(self, outgoing: Outgoing) -> None:
        """Log that the message would have gone out (and keep an SMS's text)."""
        if outgoing.text is not None and self.directory is not None:
            self._keep_sms(outgoing, outgoing.text)
            return
        extra = ""
        if outgoing.text is not None:
            sms = shape(outgoing.text)
            extra = f" segments={sms.segments} encoding={sms.encoding}"
        log.info(
            "console %s: template=%s reference=%s key=%s%s",
            outgoing.channel,
            outgoing.template,
            outgoing.reference or "-",
            outgoing.key,
            extra,
        )

    def _keep_sms(self, outgoing: Outgoing, text: str) -> None:
        assert self.directory is not None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
            path = self.directory / f"{stamp}-{outgoing.template}-{outgoing.key}.txt"
            body = f"To: {outgoing.recipient}\nTemplate: {outgoing.template}\n\n{text}\n"
            path.write_text(body, encoding="utf-8")
        except OSError as exc:
            raise TransientFailure("sms_console_unwritable") from exc
        log.info("console sms to ...%s: %s (saved in %s)", outgoing.recipient[-3:], text, path)

    def close(self) -> None:
        """Nothing to release."""


def fill_body(template: Any, values: Mapping[str, Any]) -> Any:
    """Substitute `$name` placeholders in every string of a JSON-like structure."""
    if isinstance(template, Mapping):
        return {key: fill_body(value, values) for key, value in template.items()}
    if isinstance(template, list):
        return [fill_body(item, values) for item in template]
    if isinstance(template, str):
        if template.startswith("$") and template[1:] in values:
            return values[template[1:]]
        return Template(template).safe_substitute({k: str(v) for k, v in values.items()})
    return template
