"""The allocation service's offer entrypoints: what parents and schools do with a seat after
publication, and the timers that expire and remind unanswered offers.

A mixin of AllocationService (services.allocation.service), kept apart so each module
stays small.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from services.allocation import offers, reminders
from services.allocation.exceptions import OfferNotFound, SeatConflict
from shared.messaging.rpc import rpc
from shared.messaging.timers import timer

SEAT_ERRORS = (OfferNotFound, SeatConflict)


class OfferEntrypoints:
    """Accept, decline, confirm or reject a seat; expire and remind the unanswered offers."""

    db: Session
    config: dict[str, Any]

    @rpc(expected_exceptions=SEAT_ERRORS)
    def accept_offer(self, reference: str) -> dict[str, Any]:
        """The parent accepts the seat offered."""
        return self._commit_and_answer(offers.accept_offer(self.db, reference, _now()))

    @rpc(expected_exceptions=SEAT_ERRORS)
    def decline_offer(self, reference: str) -> dict[str, Any]:
        """The parent declines the seat; it goes to the head of that school's waitlist."""
        return self._commit_and_answer(offers.decline_offer(self.db, reference, _now()))

    @rpc(expected_exceptions=SEAT_ERRORS)
    def confirm_enrollment(self, school_code: str, reference: str) -> dict[str, Any]:
        """The school confirms an accepted child after checking the papers."""
        return self._commit_and_answer(
            offers.confirm_enrollment(self.db, school_code, reference, _now())
        )

    @rpc(expected_exceptions=SEAT_ERRORS)
    def reject_enrollment(self, school_code: str, reference: str, reason: str) -> dict[str, Any]:
        """The school rejects a child with a reason; the seat goes down the waitlist."""
        step = offers.reject_enrollment(self.db, school_code, reference, reason, _now())
        return self._commit_and_answer(step)

    @timer("OFFER_EXPIRY_SECONDS", 60.0)
    def expire_offers(self) -> None:
        """Expire the offers whose deadline has passed; their seats go down the waitlists.
        One batch per round and transaction, until none is overdue (a round's offers made
        at publication all fall due at once)."""
        batch = int(self.config.get("EXPIRY_BATCH", 1000))
        while offers.expire_overdue(self.db, _now(), batch) >= batch:
            self.db.commit()
        self.db.commit()

    @timer("OFFER_REMINDER_CHECK_SECONDS", 300.0)
    def remind_offers(self) -> None:
        """Announce `offer_expiring` once per unanswered offer whose deadline is within
        OFFER_REMINDER_HOURS; one batch per round and transaction, until none is due."""
        lead = timedelta(hours=float(self.config.get("OFFER_REMINDER_HOURS", 24)))
        batch = int(self.config.get("REMINDER_BATCH", 1000))
        while reminders.remind_due(self.db, _now(), lead, batch) >= batch:
            self.db.commit()
        self.db.commit()

    def _commit_and_answer(self, answer: dict[str, Any]) -> dict[str, Any]:
        self.db.commit()
        return answer


def _now() -> datetime:
    return datetime.now(UTC)
