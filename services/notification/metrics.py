"""Notification's own series: notices by template, channel and how they ended, SMS cost.

A send is counted when the transport has answered (it happened, whatever the commit that
records it does next); what the ledger decides without sending (`uncertain` after a crash,
`suppressed_cap`, `failed` for an unusable contact) is counted once that decision commits.
Labels are template and channel names, never a recipient or a reference.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge
from sqlalchemy.orm import Session

from services.notification.delivery.channels import Outgoing
from services.notification.delivery.sms import shape
from shared.metrics.oncommit import count_on_commit

NOTICES = Counter(
    "notification_notices",
    "Notices by template, channel (email, sms) and status: sent, failed, deferred (to retry), "
    "uncertain (interrupted mid-send, never resent), suppressed_cap (the phone's daily cap).",
    ["template", "channel", "status"],
)
SMS_SEGMENTS = Counter(
    "notification_sms_segments",
    "SMS parts the provider accepted (what it bills), by template (login_otp included).",
    ["template"],
)
SMS_BUDGET = Gauge(
    "notification_sms_budget_segments",
    "The day's SMS budget in parts (SMS_DAILY_BUDGET_SEGMENTS), for the spend alert.",
)


def record_send(outgoing: Outgoing, status: str) -> None:
    """Count one message the transport took (`sent`) or answered with a failure."""
    NOTICES.labels(outgoing.template, outgoing.channel, status).inc()
    if status == "sent" and outgoing.text is not None:
        SMS_SEGMENTS.labels(outgoing.template).inc(shape(outgoing.text).segments)


def record_decision(session: Session, template: str, channel: str, status: str) -> None:
    """Count a status the ledger gave without a send, once `session` commits it."""
    count_on_commit(session, NOTICES, {"template": template, "channel": channel, "status": status})
