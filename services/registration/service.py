"""nameko entrypoints of the registration service."""

from __future__ import annotations

from typing import Any

from nameko.rpc import rpc
from sqlalchemy import text
from sqlalchemy.orm import Session

from services.registration import store
from services.registration.domain import Submission
from services.registration.exceptions import ApplicationNotFound
from services.registration.models import Application
from services.registration.schemas import ApplicationView
from shared.db.dependency import Database
from shared.db.inbox import first_delivery
from shared.events import parse_message
from shared.messaging.entrypoints import handle_command, handle_event


class RegistrationService:
    """Takes submissions off the queue at its own pace and keeps one application per child."""

    name = "registration"

    db: Session = Database()

    @handle_command("submit_application")
    def handle_submit_application(self, body: dict[str, Any]) -> None:
        """Store a submission as a new application or an amendment, and announce it."""
        message = parse_message(body, "submit_application")
        if first_delivery(self.db, "registration.submit_application", message.event_id):
            submission = Submission.from_payload(message.payload)
            store.apply_submission(self.db, submission, message.correlation_id)
        self.db.commit()

    @handle_event("allocation", "round_opened")
    def handle_round_opened(self, body: dict[str, Any]) -> None:
        """Start accepting submissions for a round."""
        message = parse_message(body, "round_opened")
        store.open_round(self.db, message.payload)
        self.db.commit()

    @handle_event("allocation", "round_closed")
    def handle_round_closed(self, body: dict[str, Any]) -> None:
        """Stop accepting submissions and amendments for a round."""
        message = parse_message(body, "round_closed")
        store.close_round(self.db, message.payload["round_id"])
        self.db.commit()

    @rpc(expected_exceptions=ApplicationNotFound)
    def get_application(self, reference: str) -> dict[str, Any]:
        """One application by its reference."""
        application = self.db.get(Application, reference)
        if application is None:
            raise ApplicationNotFound(reference)
        return ApplicationView().dump(application)

    @rpc
    def health(self) -> dict[str, str]:
        """Readiness: the service answers and its database does too."""
        self.db.execute(text("SELECT 1"))
        return {"service": self.name, "database": "ok"}
