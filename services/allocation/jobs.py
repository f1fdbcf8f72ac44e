"""Requesting and running a round's long jobs: allocate (the preview) and publish.

A city's round takes longer to allocate or publish than an HTTP request should wait, so
the RPC only checks that the step may run and queues it as an event to this very service;
the handler runs it in one transaction. A crash mid-job rolls back, and the message is
redelivered. The department follows the job on the round (`job`, `job_error`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

from prometheus_client import Histogram
from sqlalchemy.orm import Session

from services.allocation import rounds
from services.allocation.domain import next_status
from services.allocation.engine import AllocationInvariantViolated
from services.allocation.exceptions import IntakeNotComplete
from services.allocation.models import Round
from services.allocation.preview import run_allocation
from services.allocation.publish import publish_round
from shared.metrics.oncommit import on_commit

log = logging.getLogger(__name__)

JOB_DURATION = Histogram(
    "allocation_job_duration_seconds",
    "Allocate and publish jobs run, by kind and outcome (done, failed: the round says why, "
    "skipped: a duplicate or stale request), with their time; counted once committed.",
    ["kind", "outcome"],
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
)

# Says why a round's intake is not complete yet, or None.
IntakeCheck = Callable[[str], str | None]


def request_allocation(session: Session, round_id: str, intake: IntakeCheck) -> Round:
    """Queue the allocate job, or refuse (IntakeNotComplete) while the intake is not done."""
    next_status("allocate", rounds.get_round(session, round_id).status)
    refusal = intake(round_id)
    if refusal:
        raise IntakeNotComplete(f"cannot allocate {round_id} yet: {refusal}")
    return rounds.request_job(session, round_id, "allocate")


def request_publication(session: Session, round_id: str) -> Round:
    """Queue the publish job of an allocated round whose preview is current."""
    return rounds.request_job(session, round_id, "publish")


def run_job(
    session: Session, round_id: str, job: str, intake: IntakeCheck, now: datetime
) -> str | None:
    """Run a queued job of a round; returns why it did not run, or None when it ran."""
    started = time.perf_counter()
    round_ = rounds.get_round(session, round_id, lock=True)
    refusal: str | None
    if round_.job != job:
        outcome, refusal = "skipped", f"no {job} job is queued for {round_id}"
    else:
        refusal = _run_job(session, round_, job, intake, now)
        outcome = "done" if refusal is None else "failed"
    child = JOB_DURATION.labels(job, outcome)
    elapsed = time.perf_counter() - started
    on_commit(session, lambda: child.observe(elapsed))
    return refusal


def _run_job(
    session: Session, round_: Round, job: str, intake: IntakeCheck, now: datetime
) -> str | None:
    round_id = round_.round_id
    if job == "publish":
        if round_.preview_stale:
            return _record_job_failure(
                round_, "applications changed since the preview; allocate again"
            )
        publish_round(session, round_, now)
        return None
    refusal = intake(round_id)
    if refusal:
        return _record_job_failure(round_, f"allocation refused: {refusal}")
    try:
        run_allocation(session, round_, now)
    except AllocationInvariantViolated as exc:
        # The engine's self-checks failed before anything was stored: say so loudly.
        log.error("allocation of %s failed its self-checks: %s", round_id, exc)
        return _record_job_failure(round_, f"the allocation failed its self-checks: {exc}")
    return None


def _record_job_failure(round_: Round, reason: str) -> str:
    round_.job, round_.job_error = None, reason
    return reason
