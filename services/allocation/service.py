"""nameko entrypoints of the allocation service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from nameko.dependency_providers import Config
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.allocation import (
    dashboard,
    erasure,
    estimate_entrypoints,
    jobs,
    offers,
    projection,
    reminders,
    reserved,
    results,
    rounds,
    schools,
)
from services.allocation.dependencies import ApplicationBacklog, ConfigTimer, call_with_timeout
from services.allocation.domain import RoundOptions, intake_refusal
from services.allocation.exceptions import (
    IntakeNotComplete,
    InvalidRound,
    InvalidTransition,
    OfferNotFound,
    RoundBusy,
    RoundExists,
    RoundNotFound,
    RoundNotSettled,
    SchoolNotFound,
    SeatConflict,
    WardNotFound,
)
from services.allocation.models import Round
from services.allocation.schemas import (
    CommitmentView,
    RoundDetailView,
    RoundView,
    SchoolView,
    WardView,
)
from shared.contracts.envelope import parse_message
from shared.db.dependency import Database
from shared.db.inbox import first_delivery
from shared.messaging import health
from shared.messaging.entrypoints import handle_event, handle_event_group
from shared.messaging.rpc import ResilientRpcProxy, rpc

ROUND_ERRORS = (RoundNotFound, InvalidTransition)
SEAT_ERRORS = (OfferNotFound, SeatConflict)


# The mixin is reached through its module: `nameko run` would take a class imported here
# by name for a service of its own.
class AllocationService(estimate_entrypoints.EstimateEntrypoints, health.Health):
    """Owns schools and rounds; allocates, publishes, and moves seats after publication."""

    name = "allocation"

    db: Session = Database()
    config: dict[str, Any] = Config()
    registration: Any = ResilientRpcProxy("registration")
    application_backlog: Any = ApplicationBacklog()

    @rpc(expected_exceptions=(InvalidRound, RoundExists))
    def create_round(self, level: str, year: int, **options: Any) -> dict[str, Any]:
        """A new round in draft: number, max_preferences, sibling_priority, distance_tiebreak,
        shared_sibling_lottery, twins_together, offer_days are optional; a number above 1
        follows a published round."""
        try:
            chosen = RoundOptions(level=level, year=year, **options)
        except TypeError as exc:
            raise InvalidRound(str(exc)) from None
        round_ = rounds.create_round(self.db, chosen)
        self.db.commit()
        return RoundDetailView().dump(round_)

    @rpc(expected_exceptions=(*ROUND_ERRORS, InvalidRound))
    def open_round(
        self, round_id: str, opens_at: str | None = None, closes_at: str | None = None
    ) -> dict[str, Any]:
        """`draft → open` with its window (ISO instants; by default from WINDOW_NOTICE_SECONDS
        from now, so every gateway knows the instant first, until the department closes it)."""
        opens, closes = _instant(opens_at), _instant(closes_at)
        return self._commit_and_show_round(
            rounds.open_round(self.db, round_id, opens, closes, self._notice())
        )

    @rpc(expected_exceptions=ROUND_ERRORS)
    def close_round(self, round_id: str) -> dict[str, Any]:
        """Schedule the close WINDOW_NOTICE_SECONDS ahead (every gateway learns it first)."""
        return self._commit_and_show_round(rounds.close_round(self.db, round_id, self._notice()))

    @ConfigTimer.decorator("CLOSE_CHECK_SECONDS", 1.0)
    def close_due_rounds(self) -> None:
        """Close the rounds whose window has ended: the seed is fixed, `round_closed` goes."""
        rounds.close_due(self.db, _now())
        self.db.commit()

    @rpc(expected_exceptions=(*ROUND_ERRORS, IntakeNotComplete, RoundBusy))
    def allocate(self, round_id: str) -> dict[str, Any]:
        """Queue the allocate job (preview), unless the intake is not complete (refused)."""
        return self._commit_and_show_round(
            jobs.request_allocation(self.db, round_id, self._intake_refusal)
        )

    @rpc(expected_exceptions=(*ROUND_ERRORS, RoundBusy))
    def publish(self, round_id: str) -> dict[str, Any]:
        """Queue the publish job: offers, waitlist and unplaced events for every child."""
        return self._commit_and_show_round(jobs.request_publication(self.db, round_id))

    @rpc(expected_exceptions=(*ROUND_ERRORS, RoundNotSettled))
    def finalize_round(self, round_id: str) -> dict[str, Any]:
        """`published → finalized` once every offer is answered; the waitlists close."""
        return self._commit_and_show_round(rounds.finalize_round(self.db, round_id))

    @rpc(expected_exceptions=(*ROUND_ERRORS, RoundBusy))
    def discard_round(self, round_id: str) -> dict[str, str]:
        """Wipe a practice round here, and (through `round_discarded`) everywhere else."""
        rounds.discard_round(self.db, round_id)
        self.db.commit()
        return {"round_id": round_id, "status": "discarded"}

    @handle_event("allocation", "round_job_requested")
    def handle_round_job_requested(self, body: dict[str, Any]) -> None:
        """Run a round's queued allocate or publish job."""
        message = parse_message(body, "round_job_requested")
        if first_delivery(self.db, "allocation.round_job", message.event_id):
            payload = message.payload
            jobs.run_job(self.db, payload["round_id"], payload["job"], self._intake_refusal, _now())
        self.db.commit()

    @handle_event_group("applications")
    def handle_application_event(self, body: dict[str, Any]) -> None:
        """Apply registration's verified, rejected or withdrawn verdict on an application, or
        erase its personal data."""
        message = parse_message(body)
        if first_delivery(self.db, "allocation.applications", message.event_id):
            if message.type == "application_erased":
                erasure.erase_application(self.db, message)
            else:
                projection.apply_application_event(self.db, message, _now())
        self.db.commit()

    @ConfigTimer.decorator("OFFER_EXPIRY_SECONDS", 60.0)
    def expire_offers(self) -> None:
        """Expire the offers whose deadline has passed; their seats go down the waitlists.
        One batch per round and transaction, until none is overdue (a round's offers made
        at publication all fall due at once)."""
        batch = int(self.config.get("EXPIRY_BATCH", 1000))
        while offers.expire_overdue(self.db, _now(), batch) >= batch:
            self.db.commit()
        self.db.commit()

    @ConfigTimer.decorator("OFFER_REMINDER_CHECK_SECONDS", 300.0)
    def remind_offers(self) -> None:
        """Announce `offer_expiring` once per unanswered offer whose deadline is within
        OFFER_REMINDER_HOURS; one batch per round and transaction, until none is due."""
        lead = timedelta(hours=float(self.config.get("OFFER_REMINDER_HOURS", 24)))
        batch = int(self.config.get("REMINDER_BATCH", 1000))
        while reminders.remind_due(self.db, _now(), lead, batch) >= batch:
            self.db.commit()
        self.db.commit()

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

    @rpc(expected_exceptions=(SchoolNotFound, RoundNotFound))
    def school_intake(self, school_code: str, round_id: str | None = None) -> dict[str, Any]:
        """A school's allocated children and waitlist in its latest published round."""
        return results.school_intake(self.db, school_code, round_id)

    @rpc(expected_exceptions=OfferNotFound)
    def waitlist_positions(self, reference: str) -> list[dict[str, Any]]:
        """Where the child waits now: school and 1-based position, best-ranked first."""
        return results.positions_of(self.db, reference)

    @rpc
    def get_result(self, reference: str) -> dict[str, Any] | None:
        """The published result with its explanation, waitlist positions and offer; None
        while the child's round is not published (or the reference is not known here)."""
        return results.get_result(self.db, reference)

    @rpc
    def get_results(self, references: list[str]) -> dict[str, dict[str, Any] | None]:
        """`get_result` for each of a family's applications, in one call."""
        return {reference: results.get_result(self.db, reference) for reference in references}

    @rpc(expected_exceptions=ROUND_ERRORS)
    def round_stats(self, round_id: str) -> dict[str, Any]:
        """The preview's statistics and the seat statuses now."""
        return results.round_stats(self.db, round_id)

    @rpc(expected_exceptions=ROUND_ERRORS)
    def round_overview(self, round_id: str) -> dict[str, Any]:
        """The dashboard's round at a glance: demand's spread, extremes, and each ward."""
        return dashboard.overview(self.db, round_id)

    @rpc(expected_exceptions=ROUND_ERRORS)
    def round_schools(self, round_id: str, **filters: Any) -> dict[str, Any]:
        """A page of the round's schools with their figures (`dashboard.school_page`)."""
        return dashboard.school_page(self.db, round_id, **filters)

    @rpc(expected_exceptions=ROUND_ERRORS)
    def export_chunk(self, round_id: str, index: int = 0) -> dict[str, Any]:
        """Part `index` of the results export (CSV text) and the index of the next part."""
        return results.export_chunk(self.db, round_id, index)

    @rpc
    def list_open_rounds(self) -> list[dict[str, Any]]:
        """Rounds that accept applications now (real ones first, then practice ones)."""
        query = select(Round).where(Round.status == "open")
        query = query.order_by(Round.practice, Round.round_id)
        return RoundView(many=True).dump(self.db.scalars(query))

    @rpc(expected_exceptions=RoundNotFound)
    def get_round(self, round_id: str) -> dict[str, Any]:
        """One round by id, with its job and, once published, its seed."""
        return RoundDetailView().dump(rounds.get_round(self.db, round_id))

    @rpc(expected_exceptions=RoundNotFound)
    def round_commitment(self, round_id: str) -> dict[str, Any]:
        """A real round's draw commitments, for anyone (a practice round is not public)."""
        round_ = rounds.get_round(self.db, round_id)
        if round_.practice:
            raise RoundNotFound(round_id)
        return CommitmentView().dump(round_)

    @rpc(expected_exceptions=RoundNotFound)
    def reserved_seats(self, round_id: str) -> list[dict[str, Any]]:
        """The round's reserved seats per school (and, once allocated, how many were used)."""
        return reserved.reserved_seats(self.db, round_id)

    @rpc(expected_exceptions=(*ROUND_ERRORS, InvalidRound))
    def set_reserved_seats(
        self, round_id: str, seats: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Replace the round's reserved seats ([{school_code, category, seats}])."""
        reserved.set_reserved_seats(self.db, round_id, seats)
        self.db.commit()
        return reserved.reserved_seats(self.db, round_id)

    @rpc
    def list_schools(self, level: str) -> list[dict[str, Any]]:
        """Every school of a level with its capacity and catchment."""
        return SchoolView(many=True).dump(schools.schools_of_level(self.db, level))

    @rpc(expected_exceptions=WardNotFound)
    def catchment(self, ward_code: str, level: str) -> dict[str, Any]:
        """The ward (with its official name) and the schools of `level` that serve it."""
        ward, serving = schools.catchment(self.db, ward_code, level)
        return {
            "ward": WardView().dump(ward),
            "level": level,
            "schools": SchoolView(many=True).dump(serving),
        }

    def _notice(self) -> timedelta:
        return timedelta(seconds=float(self.config.get("WINDOW_NOTICE_SECONDS", 10)))

    def _commit_and_show_round(self, round_: Round) -> dict[str, Any]:
        self.db.commit()
        return RoundDetailView().dump(round_)

    def _commit_and_answer(self, answer: dict[str, Any]) -> dict[str, Any]:
        self.db.commit()
        return answer

    def _intake_refusal(self, round_id: str) -> str | None:
        timeout = float(self.config.get("REGISTRATION_TIMEOUT_SECONDS", 5))
        status = call_with_timeout(self.registration.intake_status, timeout, round_id)
        return intake_refusal(status, self.application_backlog())


def _now() -> datetime:
    return datetime.now(UTC)


def _instant(value: str | None) -> datetime | None:
    """An ISO instant from the gateway (always with its zone), or None."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidRound(f"not an ISO date and time: {value!r}") from None
    if moment.tzinfo is None:
        raise InvalidRound("give the time zone of each instant, e.g. +07:00")
    return moment
