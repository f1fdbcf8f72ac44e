"""nameko entrypoints of the notification service."""

from __future__ import annotations

from typing import Any

from nameko.exceptions import RemoteError
from sqlalchemy import text
from sqlalchemy.orm import Session

from services.notification import erasure, inbox, ledger, otp
from services.notification.contracts import parse_offer_expiring
from services.notification.dependencies import Channels
from services.notification.exceptions import OtpNotSent, OtpRateLimited
from services.notification.notices import contacts_of, notice_for
from services.notification.notifier import Notifier
from shared.db.dependency import Database
from shared.events import Message, PoisonMessage, parse_message
from shared.messaging.entrypoints import ResilientRpcProxy, handle_event, rpc


class NotificationService:
    """Tells the guardian about each change of their application, once per channel."""

    name = "notification"

    db: Session = Database()
    notifier: Notifier = Channels()
    registration = ResilientRpcProxy("registration")

    @handle_event("registration", "application_received")
    def handle_application_received(self, body: dict[str, Any]) -> None:
        """A receipt: the application is in, with its preferences."""
        self._notify(parse_message(body, "application_received"))

    @handle_event("registration", "application_verified")
    def handle_application_verified(self, body: dict[str, Any]) -> None:
        """The application matches the register and takes part in the allocation."""
        self._notify(parse_message(body, "application_verified"))

    @handle_event("registration", "application_rejected")
    def handle_application_rejected(self, body: dict[str, Any]) -> None:
        """The application failed verification; each reason in words."""
        self._notify(parse_message(body, "application_rejected"))

    @handle_event("registration", "application_withdrawn")
    def handle_application_withdrawn(self, body: dict[str, Any]) -> None:
        """The application was withdrawn as the parent asked."""
        self._notify(parse_message(body, "application_withdrawn"))

    @handle_event("allocation", "seat_offered")
    def handle_seat_offered(self, body: dict[str, Any]) -> None:
        """A seat with its deadline (or a seat reached by moving up a waitlist)."""
        self._notify(parse_message(body, "seat_offered"))

    @handle_event("allocation", "application_waitlisted")
    def handle_application_waitlisted(self, body: dict[str, Any]) -> None:
        """Waitlist positions at the schools ranked higher."""
        self._notify(parse_message(body, "application_waitlisted"))

    @handle_event("allocation", "application_unplaced")
    def handle_application_unplaced(self, body: dict[str, Any]) -> None:
        """No seat in this round, and why."""
        self._notify(parse_message(body, "application_unplaced"))

    @handle_event("allocation", "offer_expiring")
    def handle_offer_expiring(self, body: dict[str, Any]) -> None:
        """A reminder: an offer's deadline is near and it has no answer yet."""
        self._notify(parse_offer_expiring(body))

    @handle_event("allocation", "offer_accepted")
    def handle_offer_accepted(self, body: dict[str, Any]) -> None:
        """The parent's acceptance is recorded; the school checks the papers next."""
        self._notify(parse_message(body, "offer_accepted"))

    @handle_event("allocation", "offer_declined")
    def handle_offer_declined(self, body: dict[str, Any]) -> None:
        """The parent's refusal is recorded."""
        self._notify(parse_message(body, "offer_declined"))

    @handle_event("allocation", "offer_expired")
    def handle_offer_expired(self, body: dict[str, Any]) -> None:
        """The deadline passed without an answer; the seat is gone."""
        self._notify(parse_message(body, "offer_expired"))

    @handle_event("allocation", "enrollment_confirmed")
    def handle_enrollment_confirmed(self, body: dict[str, Any]) -> None:
        """The school confirmed the enrollment."""
        self._notify(parse_message(body, "enrollment_confirmed"))

    @handle_event("allocation", "school_rejected")
    def handle_school_rejected(self, body: dict[str, Any]) -> None:
        """The school did not confirm the enrollment, with its reason."""
        self._notify(parse_message(body, "school_rejected"))

    @handle_event("registration", "application_erased")
    def handle_application_erased(self, body: dict[str, Any]) -> None:
        """The family asked for erasure: blank the inbox and the recipients of the ledger."""
        message = parse_message(body, "application_erased")
        erasure.erase_application(self.db, message.payload["reference"])
        self.db.commit()

    @rpc(expected_exceptions=(OtpRateLimited, OtpNotSent))
    def send_otp(self, phone: str, language: str, code: str, valid_minutes: int = 5) -> None:
        """Text a login code to a phone, within the per-phone rate limits."""
        otp.send_login_code(self.db, self.notifier, phone, language, code, valid_minutes)

    @rpc
    def list_deliveries(self, reference: str) -> list[dict[str, Any]]:
        """Every notification about one application: channel, template, status, attempts."""
        return ledger.deliveries_of(self.db, reference)

    @rpc
    def list_inbox(self, reference: str) -> list[dict[str, Any]]:
        """The in-app inbox of one application, newest first."""
        return inbox.messages_of(self.db, reference)

    @rpc
    def health(self) -> dict[str, str]:
        """Readiness: the service answers and its database does too."""
        self.db.execute(text("SELECT 1"))
        return {"service": self.name, "database": "ok"}

    def _notify(self, message: Message) -> None:
        reference = message.payload["reference"]
        try:
            application = self.registration.get_application(reference)
        except RemoteError as exc:
            if exc.exc_type == "ApplicationNotFound":
                raise PoisonMessage(f"no application {reference}") from exc
            raise
        if application.get("erased_at"):
            return  # erased at the family's request: no one left to tell, nothing to render
        notice = notice_for(message.event_id, message.type, message.payload, application)
        self.notifier.notify(self.db, notice, contacts_of(application))
