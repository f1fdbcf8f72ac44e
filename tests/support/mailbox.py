"""Reads what the SMTP sink (tools.smtp_sink) saved: real messages, parsed."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path


def read_mailbox(maildir: Path) -> list[EmailMessage]:
    """Every message the sink accepted, oldest first."""
    messages = []
    for path in sorted(maildir.glob("*.eml")):
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        messages.append(parsed)  # type: ignore[arg-type]
    return messages


def text_of(message: EmailMessage) -> str:
    """The plain-text body."""
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""
