"""nameko entrypoints of the notification service."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from services.notification import erasure, otp, preferences, tallies
from services.notification.delivery import inbox, ledger_rows
from services.notification.delivery.notifier import Notifier
from services.notification.dependencies import Channels
from services.notification.exceptions import OtpNotSent, OtpRateLimited
from services.notification.rendering.notices import contacts_of, notice_for, told_with_receipt
from shared.contracts.envelope import PoisonMessage, parse_message
from shared.contracts.reading import read_event
from shared.contracts.rounds import is_practice_round
from shared.db.dependency import Database
from shared.messaging import health
from shared.messaging.handlers import handle_event
from shared.messaging.rpc import ResilientRpcProxy, rpc

# Events per batch: at publish time one batch shares each commit and one registration call.
# The container's max_workers (nameko's prefetch) must be at least this.
BATCH = 100
# How long a batch waits for more events once its first arrived. At a steady 100 a second,
# 0.05 s made batches of ~5, and each batch pays one registration call, one preferences
# query and the ledger's commits; 0.2 s makes them ~20 and adds at most 0.2 s to a receipt.
WAIT = 0.2


class NotificationService(health.Health):
    """Tells the guardian about each change of their application, once per channel."""

    name = "notification"

    db: Session = Database()
    notifier: Notifier = Channels()
    registration = ResilientRpcProxy("registration")

    @handle_event("registration", "application_received", batch=BATCH, wait=WAIT)
    def handle_application_received(self, bodies: list[dict[str, Any]]) -> None:
        """A receipt: the application is in, with its preferences."""
        self._notify(bodies, "application_received")

    @handle_event("registration", "application_verified", batch=BATCH, wait=WAIT)
    def handle_application_verified(self, bodies: list[dict[str, Any]]) -> None:
        """The application matches the register and takes part in the allocation."""
        self._notify(bodies, "application_verified")

    @handle_event("registration", "application_rejected", batch=BATCH, wait=WAIT)
    def handle_application_rejected(self, bodies: list[dict[str, Any]]) -> None:
        """The application failed verification; each reason in words."""
        self._notify(bodies, "application_rejected")

    @handle_event("registration", "application_withdrawn", batch=BATCH, wait=WAIT)
    def handle_application_withdrawn(self, bodies: list[dict[str, Any]]) -> None:
        """The application was withdrawn as the parent asked."""
        self._notify(bodies, "application_withdrawn")

    @handle_event("registration", "application_refused", batch=BATCH, wait=WAIT)
    def handle_application_refused(self, bodies: list[dict[str, Any]]) -> None:
        """A change confirmed as received was refused later (e.g. after the close): why."""
        self._notify(bodies, "application_refused")

    @handle_event("registration", "correction_requested", batch=BATCH, wait=WAIT)
    def handle_correction_requested(self, bodies: list[dict[str, Any]]) -> None:
        """A correction request with its evidence is in the department's queue."""
        self._notify(bodies, "correction_requested")

    @handle_event("registration", "correction_decided", batch=BATCH, wait=WAIT)
    def handle_correction_decided(self, bodies: list[dict[str, Any]]) -> None:
        """A correction request was approved (checked again) or refused, with its reason."""
        self._notify(bodies, "correction_decided")

    @handle_event("allocation", "seat_offered", batch=BATCH, wait=WAIT)
    def handle_seat_offered(self, bodies: list[dict[str, Any]]) -> None:
        """A seat with its deadline (or a seat reached by moving up a waitlist)."""
        self._notify(bodies, "seat_offered")

    @handle_event("allocation", "application_waitlisted", batch=BATCH, wait=WAIT)
    def handle_application_waitlisted(self, bodies: list[dict[str, Any]]) -> None:
        """Waitlist positions at the schools ranked higher."""
        self._notify(bodies, "application_waitlisted")

    @handle_event("allocation", "application_unplaced", batch=BATCH, wait=WAIT)
    def handle_application_unplaced(self, bodies: list[dict[str, Any]]) -> None:
        """No seat in this round, and why."""
        self._notify(bodies, "application_unplaced")

    @handle_event("allocation", "offer_expiring", batch=BATCH, wait=WAIT)
    def handle_offer_expiring(self, bodies: list[dict[str, Any]]) -> None:
        """A reminder: an offer's deadline is near and it has no answer yet."""
        self._notify(bodies, "offer_expiring")

    @handle_event("allocation", "offer_accepted", batch=BATCH, wait=WAIT)
    def handle_offer_accepted(self, bodies: list[dict[str, Any]]) -> None:
        """The parent's acceptance is recorded; the school checks the papers next."""
        self._notify(bodies, "offer_accepted")

    @handle_event("allocation", "offer_declined", batch=BATCH, wait=WAIT)
    def handle_offer_declined(self, bodies: list[dict[str, Any]]) -> None:
        """The parent's refusal is recorded."""
        self._notify(bodies, "offer_declined")

    @handle_event("allocation", "offer_expired", batch=BATCH, wait=WAIT)
    def handle_offer_expired(self, bodies: list[dict[str, Any]]) -> None:
        """The deadline passed without an answer; the seat is gone."""
        self._notify(bodies, "offer_expired")

    @handle_event("allocation", "enrollment_confirmed", batch=BATCH, wait=WAIT)
    def handle_enrollment_confirmed(self, bodies: list[dict[str, Any]]) -> None:
        """The school confirmed the enrollment."""
        self._notify(bodies, "enrollment_confirmed")

    @handle_event("allocation", "school_rejected", batch=BATCH, wait=WAIT)
    def handle_school_rejected(self, bodies: list[dict[str, Any]]) -> None:
        """The school did not confirm the enrollment, with its reason."""
        self._notify(bodies, "school_rejected")

    @handle_event("allocation", "round_discarded")
    def handle_round_discarded(self, body: dict[str, Any]) -> None:
        """Forget a wiped practice round: its inbox notices and their ledger rows."""
        message = parse_message(body, "round_discarded")
        inbox.discard_round(self.db, message.payload["round_id"])
        self.db.commit()

    @rpc
    def get_preferences(self, owner_id: str) -> dict[str, Any]:
        """A parent account's language and channels (defaults if it chose none)."""
        return preferences.as_dict(preferences.preferences_of(self.db, owner_id))

    @rpc
    def set_preferences(
        self, owner_id: str, language: str, email: bool, sms: bool
    ) -> dict[str, Any]:
        """Store a parent account's language and channels; later notices follow them."""
        saved = preferences.save_preferences(self.db, owner_id, language, email, sms)
        self.db.commit()
        return preferences.as_dict(saved)

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
        return ledger_rows.deliveries_of(self.db, reference)

    @rpc
    def notice_counts(self, since: str) -> dict[str, dict[str, int]]:
        """`{channel: {status: sends}}` (e-mail and SMS) from the minute of `since` (ISO)
        until now, from the per-minute counts: the department's live page."""
        return tallies.since(self.db, datetime.fromisoformat(since))

    @rpc
    def list_inbox(self, reference: str) -> list[dict[str, Any]]:
        """The in-app inbox of one application, newest first."""
        return inbox.messages_of(self.db, reference)

    @rpc
    def list_inboxes(self, references: list[str]) -> list[dict[str, Any]]:
        """The in-app inbox of several applications (a parent's), newest first."""
        return inbox.messages_of(self.db, *references[:1000])

    def _notify(self, bodies: list[dict[str, Any]], event_type: str) -> None:
        # Without marshmallow's machinery (`shared.contracts.reading`); still poison if malformed.
        parsed = [read_event(body, event_type) for body in bodies]
        # A verdict that travelled with its receipt was told in the receipt's notice.
        messages = [m for m in parsed if not told_with_receipt(m.type, m.payload)]
        if not messages:
            return
        # One call for the batch: the guardians' contacts stay in registration's database.
        references = sorted({message.payload["reference"] for message in messages})
        applications = self.registration.get_applications(references)
        owners = {a.get("owner_id") for a in applications.values()}
        chosen = preferences.preferences_of_many(self.db, owners)
        notices = []
        for message in messages:
            application = applications.get(message.payload["reference"])
            if application is None:
                if is_practice_round(str(message.payload.get("round_id", ""))):
                    continue  # a wiped practice round: its late notices have no one to tell
                raise PoisonMessage(f"no application {message.payload['reference']}")
            if application.get("erased_at"):
                continue  # erased at the family's request: no one left to tell
            wants = chosen.get(application.get("owner_id"), preferences.DEFAULT)
            application = preferences.with_language(application, wants)
            notice = notice_for(message.event_id, message.type, message.payload, application)
            channels = preferences.channels_for(wants, bool(application.get("practice")))
            notices.append((notice, contacts_of(application), channels))
        self.notifier.notify(self.db, notices)
