"""nameko entrypoints of the notification service."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from nameko.rpc import RpcProxy, rpc
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from services.notification.dependencies import Mailer, SmtpMailer
from services.notification.messages import render_email
from services.notification.models import Delivery
from shared.db.dependency import Database
from shared.events import parse_message
from shared.messaging.entrypoints import handle_event


class NotificationService:
    """Tells the guardian about each change of their application, once per channel."""

    name = "notification"

    db: Session = Database()
    mailer: SmtpMailer = Mailer()
    registration = RpcProxy("registration")

    @handle_event("registration", "application_received")
    def handle_application_received(self, body: dict[str, Any]) -> None:
        """E-mail the guardian a receipt for the application."""
        message = parse_message(body, "application_received")
        if self._delivered(message.event_id, "email"):
            return
        application = self.registration.get_application(message.payload["reference"])
        guardian = application["guardian"]
        email = render_email(
            "application_received",
            guardian["language"],
            {
                "guardian_name": guardian["full_name"],
                "child_name": application["child"]["full_name"],
                "reference": application["reference"],
                "round_id": application["round_id"],
                "preferences": application["preferences"],
            },
        )
        self.mailer.send(guardian["email"], email, message_key=message.event_id)
        self.db.add(
            Delivery(
                event_id=message.event_id,
                channel="email",
                template="application_received",
                reference=application["reference"],
                recipient=guardian["email"],
                language=guardian["language"],
                status="sent",
                sent_at=datetime.now(UTC),
            )
        )
        self.db.commit()

    @rpc
    def list_deliveries(self, reference: str) -> list[dict[str, Any]]:
        """What was delivered about one application, on which channel and when."""
        deliveries = self.db.scalars(
            select(Delivery).where(Delivery.reference == reference).order_by(Delivery.id)
        )
        return [
            {
                "template": delivery.template,
                "channel": delivery.channel,
                "status": delivery.status,
                "sent_at": delivery.sent_at.isoformat(),
            }
            for delivery in deliveries
        ]

    @rpc
    def health(self) -> dict[str, str]:
        """Readiness: the service answers and its database does too."""
        self.db.execute(text("SELECT 1"))
        return {"service": self.name, "database": "ok"}

    def _delivered(self, event_id: str, channel: str) -> bool:
        query = select(Delivery.id).where(Delivery.event_id == event_id)
        return self.db.scalar(query.where(Delivery.channel == channel)) is not None
