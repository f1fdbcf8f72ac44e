"""Erasing what notification keeps about an application once registration erased it.

Notification keeps no addresses (it asks registration for them at each send); what it holds
about a child is the rendered notices in the in-app inbox, which name the child, and the
delivery rows, whose `recipient_key` is a keyed hash of the guardian's phone or e-mail.
Both are blanked in place: the rows stay (how many notices went, on which channel, with
what result) and say nothing about the family any more. Idempotent by construction.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from services.notification.models import Delivery, InboxMessage

ERASED = "(erased at the family's request)"


def erase_application(session: Session, reference: str) -> None:
    """Blank the inbox messages and the recipients of the deliveries of one application."""
    session.execute(
        update(InboxMessage)
        .where(InboxMessage.reference == reference)
        .values(subject=ERASED, body=ERASED)
    )
    session.execute(
        update(Delivery).where(Delivery.reference == reference).values(recipient_key=None)
    )
