"""nameko dependencies of the notification service: the SMTP channel."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from nameko.extensions import DependencyProvider

from services.notification.exceptions import DeliveryFailed
from services.notification.messages import Email


class SmtpMailer:
    """Sends one e-mail over SMTP; a refused or failed send raises DeliveryFailed."""

    def __init__(self, host: str, port: int, sender: str, timeout: float) -> None:
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout

    def send(self, recipient: str, email: Email, message_key: str) -> None:
        """Deliver `email` to `recipient`; `message_key` makes its Message-ID traceable."""
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = recipient
        message["Subject"] = email.subject
        message["Message-ID"] = make_msgid(idstring=message_key, domain="tuyensinh.local")
        message.set_content(email.text)
        message.add_alternative(email.html, subtype="html")
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as client:
                client.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(f"smtp {type(exc).__name__}") from exc


class Mailer(DependencyProvider):
    """Injects the SMTP channel configured by SMTP_HOST, SMTP_PORT and SMTP_FROM."""

    def setup(self) -> None:
        config = self.container.config
        self.mailer = SmtpMailer(
            host=config.get("SMTP_HOST", "127.0.0.1"),
            port=int(config.get("SMTP_PORT", 1025)),
            sender=config.get("SMTP_FROM", "tuyensinh@localhost"),
            timeout=float(config.get("SMTP_TIMEOUT_SECONDS", 10)),
        )

    def get_dependency(self, worker_ctx: Any) -> SmtpMailer:
        return self.mailer
