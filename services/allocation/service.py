"""nameko entrypoints of the allocation service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from nameko.dependency_providers import Config
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.allocation import (
    estimate_entrypoints,
    jobs,
    offer_entrypoints,
    projection,
    reserved,
    result_entrypoints,
    rounds,
    schools,
)
from services.allocation.dependencies import ApplicationBacklog, call_with_timeout
from services.allocation.domain import RoundOptions, intake_refusal
from services.allocation.exceptions import (
    IntakeNotComplete,
    InvalidRound,
    RoundBusy,
    RoundExists,
    RoundNotFound,
    RoundNotSettled,
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
from shared.contracts.reading import read_event
from shared.db.dependency import Database
from shared.db.inbox import first_delivery
from shared.messaging import health
from shared.messaging.handlers import handle_event
from shared.messaging.rpc import ResilientRpcProxy, rpc
from shared.messaging.timers import timer

ROUND_ERRORS = result_entrypoints.ROUND_ERRORS
# Registration's verdicts on applications, and erasures, in one ordered queue.
APPLICATION_EVENTS = (
    "application_verified",
    "application_rejected",
    "application_withdrawn",
    "application_erased",
)
BATCH, BATCH_WAIT = 200, 0.5  # events, seconds


# The mixins are reached through their modules: `nameko run` would take a class imported
# here by name for a service of its own.
class AllocationService(
    offer_entrypoints.OfferEntrypoints,
    result_entrypoints.ResultEntrypoints,
    estimate_entrypoints.EstimateEntrypoints,
    health.Health,
):
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

    @timer("CLOSE_CHECK_SECONDS", 1.0)
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

    # A transaction per batch: every application's verdict comes through here. Off the
    # receipt's path, so a batch may wait to fill (max_workers covers BATCH, see config.yml).
    @handle_event(
        "registration", *APPLICATION_EVENTS, queue="applications", batch=BATCH, wait=BATCH_WAIT
    )
    def handle_application_event(self, bodies: list[dict[str, Any]]) -> None:
        """Apply a batch of registration's verified, rejected or withdrawn verdicts on
        applications, and erasures of their personal data, in the order they came."""
        # Without marshmallow's machinery (see `shared.contracts.reading`); still poison if
        # malformed, and a poison message fails the batch: each is then tried on its own.
        messages = [read_event(body) for body in bodies]
        projection.apply_application_events(self.db, messages, _now())
        self.db.commit()

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
