"""nameko entrypoints of the registration service."""

from __future__ import annotations

from typing import Any

from nameko.rpc import rpc
from sqlalchemy import text
from sqlalchemy.orm import Session

from services.registration import store
from services.registration.checking import check_application
from services.registration.dependencies import Backlog, Register, RegisterFactory
from services.registration.domain import Submission
from services.registration.exceptions import ApplicationNotFound
from services.registration.models import Application
from services.registration.schemas import ApplicationView
from shared.db.dependency import Database
from shared.db.inbox import first_delivery
from shared.events import parse_message
from shared.messaging.entrypoints import handle_command, handle_event, handle_event_group


class RegistrationService:
    """Takes submissions off the queue at its own pace, keeps one application per child and
    checks each against the population register."""

    name = "registration"

    db: Session = Database()
    register: RegisterFactory = Register()
    backlog: Any = Backlog()

    @handle_command("submit_application")
    def handle_submit_application(self, body: dict[str, Any]) -> None:
        """Store a submission as a new application or an amendment, and announce it."""
        message = parse_message(body, "submit_application")
        if first_delivery(self.db, "registration.submit_application", message.event_id):
            submission = Submission.from_payload(message.payload)
            store.apply_submission(self.db, submission, message.correlation_id)
        self.db.commit()

    @handle_command("withdraw_application")
    def handle_withdraw_application(self, body: dict[str, Any]) -> None:
        """Withdraw an application while its round is open."""
        message = parse_message(body, "withdraw_application")
        if first_delivery(self.db, "registration.withdraw_application", message.event_id):
            store.withdraw(self.db, message.payload["reference"], message.correlation_id)
        self.db.commit()

    @handle_event("registration", "application_received")
    def handle_application_received(self, body: dict[str, Any]) -> None:
        """Check a new application against the register."""
        self._check(parse_message(body, "application_received"))

    @handle_event("registration", "application_amended")
    def handle_application_amended(self, body: dict[str, Any]) -> None:
        """Check an amended application again."""
        self._check(parse_message(body, "application_amended"))

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

    @handle_event("allocation", "school_directory_updated")
    def handle_school_directory_updated(self, body: dict[str, Any]) -> None:
        """Replace the copy of the school directory that preferences are checked against."""
        message = parse_message(body, "school_directory_updated")
        store.replace_school_directory(self.db, message.payload["schools"])
        self.db.commit()

    @handle_event_group("outcomes")
    def handle_application_outcome(self, body: dict[str, Any]) -> None:
        """Show the parent the status an allocation event gives their application."""
        message = parse_message(body)
        reference = message.payload["reference"]
        store.apply_outcome(self.db, message.type, reference, message.occurred_at)
        self.db.commit()

    @rpc(expected_exceptions=ApplicationNotFound)
    def get_application(self, reference: str) -> dict[str, Any]:
        """One application by its reference."""
        application = self.db.get(Application, reference)
        if application is None:
            raise ApplicationNotFound(reference)
        return ApplicationView().dump(application)

    @rpc
    def list_applications(self, owner_id: str) -> list[dict[str, Any]]:
        """The applications one parent account submitted."""
        return ApplicationView(many=True).dump(store.applications_of(self.db, owner_id))

    @rpc
    def intake_status(self, round_id: str) -> dict[str, Any]:
        """Whether a round's intake is complete: unverified applications and queued submissions."""
        return {
            "round_id": round_id,
            **store.intake_status(self.db, round_id),
            "backlog": self.backlog(),
        }

    @rpc
    def health(self) -> dict[str, str]:
        """Readiness: the service answers and its database does too."""
        self.db.execute(text("SELECT 1"))
        return {"service": self.name, "database": "ok"}

    def _check(self, message: Any) -> None:
        if first_delivery(self.db, f"registration.check.{message.type}", message.event_id):
            register = self.register(self.db)
            reference = message.payload["reference"]
            check_application(self.db, register, reference, message.correlation_id)
        self.db.commit()
