"""nameko entrypoints of the registration service."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from amqp.exceptions import ChannelError
from nameko.dependency_providers import Config
from sqlalchemy import func, select
from sqlalchemy.orm import Session

# The module, not its class: `nameko run` would take a class found here for a service.
from services.registration import erasure, store
from services.registration import metrics as _metrics  # noqa: F401 - registers its series
from services.registration.corrections import entrypoints as correction_service
from services.registration.dependencies import Backlog, Register, RegisterFactory
from services.registration.exceptions import ApplicationNotFound
from services.registration.intake import audit, tallies
from services.registration.intake.submissions import take_submissions
from services.registration.models import Application, RoundView
from services.registration.schemas import ApplicationView, view_of
from services.registration.verification import applications as checking
from shared.auditquery import AuditQuery
from shared.contracts.envelope import parse_message
from shared.contracts.reading import read_event
from shared.db.dependency import Database
from shared.db.inbox import first_delivery
from shared.messaging import health
from shared.messaging.bus import CONNECTION_LOST
from shared.messaging.handlers import handle_command, handle_event
from shared.messaging.rpc import rpc
from shared.messaging.timers import timer

log = logging.getLogger(__name__)

WINDOW_EVENTS = (("allocation", "round_window_changed"), ("allocation", "round_closed"))
# Allocation's events that give an application the status parents see.
OUTCOMES = (
    "seat_offered",
    "application_waitlisted",
    "application_unplaced",
    "offer_accepted",
    "offer_declined",
    "offer_expired",
    "enrollment_confirmed",
    "school_rejected",
)
# How long a submission batch waits for more messages once its first has arrived.
SUBMISSION_WAIT_SECONDS = 0.2


class RegistrationService(correction_service.CorrectionEntrypoints, health.Health):
    """Takes submissions off the queue at its own pace, keeps one application per child and
    checks each against the population register."""

    name = "registration"

    db: Session = Database()
    register: RegisterFactory = Register()
    backlog: Any = Backlog()
    config: dict[str, Any] = Config()

    # A round's close instant (scheduled, then reached) travels with the submissions, so
    # none published after the close was scheduled is judged before registration knows it.
    # A batch's transaction, verification and relay pass cost about as much for 5 messages
    # as for 30: at a steady 100/s, waiting 0.2 s for more cuts the CPU per application
    # (the receipt's budget is 2 s end to end; see BENCHMARKS.md, sustained capacity).
    @handle_command(
        "submit_application", batch=200, wait=SUBMISSION_WAIT_SECONDS, with_events=WINDOW_EVENTS
    )
    def handle_submit_application(self, bodies: list[dict[str, Any]]) -> None:
        """Store a batch of submissions (new or amended), check each, announce them."""
        # Every field and validator of the contract, without marshmallow's machinery
        # (`shared.contracts.reading`); a malformed command is still poison.
        messages = [read_event(body) for body in bodies]
        take_submissions(self.db, self.register(self.db), messages)
        self.db.commit()

    @handle_command("withdraw_application")
    def handle_withdraw_application(self, body: dict[str, Any]) -> None:
        """Withdraw an application while its round is open."""
        message = parse_message(body, "withdraw_application")
        if first_delivery(self.db, "registration.withdraw_application", message.event_id):
            reference, stamped_at = message.payload["reference"], message.occurred_at
            store.withdraw(self.db, reference, stamped_at, message.correlation_id)
        self.db.commit()

    @handle_command("request_erasure")
    def handle_request_erasure(self, body: dict[str, Any]) -> None:
        """Record a parent's request to erase an application (withdrawing it if still open)."""
        message = parse_message(body, "request_erasure")
        if first_delivery(self.db, "registration.request_erasure", message.event_id):
            reference, stamped_at = message.payload["reference"], message.occurred_at
            erasure.request_erasure(self.db, reference, message.correlation_id, stamped_at)
        self.db.commit()

    @timer("ERASURE_SWEEP_SECONDS", 60.0)
    def erase_due(self) -> None:
        """The retention rule: erase the applications whose erasure is due, in batches."""
        retention = timedelta(days=float(self.config.get("ERASURE_RETENTION_DAYS", 30)))
        while erasure.erase_due(self.db, datetime.now(UTC), retention):
            self.db.commit()
        self.db.commit()

    @timer("VERIFY_SWEEP_SECONDS", 5.0)
    def verify_pending(self) -> None:
        """Check applications left `received` (e.g. they arrived before the school directory)."""
        checking.sweep(self.db, self.register(self.db))
        self.db.commit()

    @handle_event("allocation", "round_opened")
    def handle_round_opened(self, body: dict[str, Any]) -> None:
        """Start accepting submissions for a round."""
        message = parse_message(body, "round_opened")
        store.open_round(self.db, message.payload)
        self.db.commit()

    @handle_event("allocation", "round_window_changed")
    def handle_round_window_changed(self, body: dict[str, Any]) -> None:
        """Learn the instant a round closes (the department scheduled it)."""
        message = parse_message(body, "round_window_changed")
        store.change_window(self.db, message.payload)
        self.db.commit()

    @handle_event("allocation", "round_closed")
    def handle_round_closed(self, body: dict[str, Any]) -> None:
        """The round closed: what was stamped before `closes_at` is still honoured."""
        message = parse_message(body, "round_closed")
        store.change_window(self.db, message.payload, status="closed")
        self.db.commit()

    @handle_event("allocation", "round_discarded")
    def handle_round_discarded(self, body: dict[str, Any]) -> None:
        """Forget a wiped practice round: its applications and the round itself."""
        message = parse_message(body, "round_discarded")
        store.discard_round(self.db, message.payload["round_id"])
        tallies.forget_round(self.db, message.payload["round_id"])
        self.db.commit()

    @handle_event("allocation", "school_directory_updated")
    def handle_school_directory_updated(self, body: dict[str, Any]) -> None:
        """Replace the copy of the school directory that preferences are checked against."""
        message = parse_message(body, "school_directory_updated")
        store.replace_school_directory(self.db, message.payload["schools"])
        self.db.commit()

    # A batch per commit: publishing a round sends one event per child at once.
    @handle_event("allocation", *OUTCOMES, queue="outcomes", batch=200)
    def handle_application_outcome(self, bodies: list[dict[str, Any]]) -> None:
        """Show parents the statuses a batch of allocation's events gives their applications."""
        messages = [read_event(body) for body in bodies]
        outcomes = [(m.type, m.payload["reference"], m.occurred_at) for m in messages]
        store.apply_outcomes(self.db, outcomes)
        self.db.commit()

    @rpc(expected_exceptions=ApplicationNotFound)
    def get_application(self, reference: str) -> dict[str, Any]:
        """One application by its reference."""
        application = self.db.get(Application, reference)
        if application is None:
            raise ApplicationNotFound(reference)
        view = ApplicationView().dump(application)
        return {**view, "practice": store.is_practice(self.db, application.round_id)}

    @rpc
    def get_applications(self, references: list[str]) -> dict[str, dict[str, Any]]:
        """Applications by reference, for a batch of notices; unknown references are left out."""
        # One query: the round's practice flag comes joined, not looked up per round.
        query = (
            select(Application, RoundView.practice)
            .outerjoin(RoundView, RoundView.round_id == Application.round_id)
            .where(Application.reference.in_(references))
        )
        return {
            application.reference: {**view_of(application), "practice": bool(practice)}
            for application, practice in self.db.execute(query).tuples()
        }

    @rpc
    def holding_a_place(self, references: list[str]) -> list[str]:
        """Of `references`, those whose child holds a seat or waitlist place: not erasable."""
        return erasure.holding_a_place(self.db, references)

    @rpc
    def list_applications(self, owner_id: str) -> list[dict[str, Any]]:
        """The applications one parent account submitted."""
        return ApplicationView(many=True).dump(store.applications_of(self.db, owner_id))

    @rpc
    def late_applications(self, round_id: str) -> list[dict[str, Any]]:
        """The applications the department accepted after close in a round, oldest first:
        reference, status, reason, who accepted it and when (no child's data)."""
        query = select(Application).where(
            Application.round_id == round_id, Application.late_reason.is_not(None)
        )
        return [
            {
                "reference": a.reference,
                "status": a.status,
                "reason": a.late_reason,
                "accepted_by": a.late_accepted_by,
                "accepted_at": a.submitted_at.isoformat(),
            }
            for a in self.db.scalars(query.order_by(Application.submitted_at))
        ]

    @rpc
    def intake_status(self, round_id: str) -> dict[str, Any]:
        """Whether a round's intake is complete: unverified applications, and submissions or
        events still on their way (queued on the broker or waiting in the outbox)."""
        status = store.intake_status(self.db, round_id)
        return {"round_id": round_id, "unverified": status["unverified"], "backlog": self.backlog()}

    @rpc
    def applications_received(self, round_id: str) -> int:
        """How many applications a round has received so far (withdrawn ones included)."""
        query = select(func.count()).select_from(Application)
        return int(self.db.scalar(query.where(Application.round_id == round_id)) or 0)

    @rpc
    def live_counts(self, round_id: str, minutes: int = 60) -> dict[str, Any]:
        """The live window's figures of a round, from the running counts (never a count of
        the applications): by status, ward and rejection reason, submissions and verdicts
        per minute over the last `minutes`, and the submissions still queued (every round's;
        None while the broker does not answer)."""
        counts = tallies.live_counts(self.db, round_id, datetime.now(UTC), minutes)
        try:
            counts["queued"] = self.backlog()
        except (*CONNECTION_LOST, ChannelError) as exc:
            log.warning("submission queue depth unknown: %s", type(exc).__name__)
            counts["queued"] = None
        return counts

    @rpc
    def audit_entries(self, query: dict[str, Any], limit: int = 50) -> list[dict[str, Any]]:
        """The audit entries of stored submissions matching the department's search (IDs
        only), newest first; the gateway merges them with its own (shared/auditquery.py)."""
        return audit.audit_entries(self.db, AuditQuery.from_wire(query), min(limit, 1000))

    @rpc
    def open_rounds(self) -> list[str]:
        """The rounds registration has seen open (from allocation's `round_opened`)."""
        query = select(RoundView.round_id).where(RoundView.status == "open")
        return sorted(self.db.scalars(query))

    @rpc
    def applications_per_hour(self, round_id: str) -> list[list[Any]]:
        """`[[hour start (ISO, UTC), applications first submitted in it], ...]`, every hour
        from the first to the last, for the department's chart of the window."""
        series = store.applications_per_hour(self.db, round_id)
        return [[start.isoformat(), count] for start, count in series]
