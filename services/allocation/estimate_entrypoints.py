"""The allocation service's estimate entrypoints: the timer and the RPCs that read it.

A mixin of AllocationService (services.allocation.service), kept apart so each module
stays small.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

import eventlet
from prometheus_client import Counter
from sqlalchemy.orm import Session

from services.allocation import estimates, finder, outcomes
from services.allocation.dependencies import ConfigTimer
from services.allocation.exceptions import RoundNotFound, WardNotFound
from shared.messaging.rpc import rpc

log = logging.getLogger(__name__)

DRAWS = Counter(
    "allocation_estimate_draws_total",
    "Estimate draws (whole allocations under a fresh seed) stored, of open rounds.",
)


class EstimateEntrypoints:
    """Helping families choose: chances of admission and live demand of open rounds, the
    school finder, and the published rounds' outcomes per school."""

    db: Session
    config: dict[str, Any]

    @ConfigTimer.decorator("ESTIMATE_SECONDS", 300.0)
    def refresh_estimates(self) -> None:
        """Every ESTIMATE_SECONDS: for each open round, ESTIMATE_DRAWS draws of the real
        engine under fresh seeds on the verified applications so far, stored in place of
        the round's previous batch."""
        draws = int(self.config.get("ESTIMATE_DRAWS", 100))
        round_ids = estimates.open_rounds(self.db)
        self.db.commit()
        for round_id in round_ids:
            inputs = estimates.load(self.db, round_id)
            self.db.commit()  # no transaction stays open while the draws run
            started = time.perf_counter()
            tally = estimates.compute(inputs, draws, lambda: eventlet.sleep(0))
            if tally is None:
                continue
            seconds = time.perf_counter() - started
            estimates.store(self.db, round_id, tally, datetime.now(UTC), seconds)
            self.db.commit()
            DRAWS.inc(tally.draws)
            log.info(
                "estimated %s: %d draws of %d applications in %.1f s",
                round_id,
                tally.draws,
                len(tally.references),
                seconds,
            )

    @rpc
    def demand(self, round_id: str) -> dict[str, Any] | None:
        """Live demand of an open round per school (k-anonymous); None before any batch."""
        return estimates.demand(self.db, round_id)

    @rpc
    def school_estimates(self, round_id: str) -> dict[str, Any] | None:
        """Each school's public chances per tier group (k-anonymous); None before any batch."""
        return estimates.school_estimates(self.db, round_id)

    @rpc(expected_exceptions=WardNotFound)
    def find_schools(self, ward_code: str, level: str) -> dict[str, Any]:
        """The school finder: the level's schools nearest the ward first, with catchment
        status and distance."""
        return finder.find(self.db, ward_code, level)

    @rpc
    def published_rounds(self) -> list[dict[str, Any]]:
        """The published rounds whose outcome per school is public, newest first."""
        return outcomes.published_rounds(self.db)

    @rpc(expected_exceptions=RoundNotFound)
    def round_outcomes(self, round_id: str) -> list[dict[str, Any]]:
        """A published round's outcome per school (k-anonymous counts)."""
        return outcomes.round_outcomes(self.db, round_id)

    @rpc(expected_exceptions=RoundNotFound)
    def round_outcomes_csv(self, round_id: str) -> str:
        """The same rows as CSV text."""
        return outcomes.as_csv(outcomes.round_outcomes(self.db, round_id))

    @rpc
    def application_estimate(self, reference: str) -> dict[str, Any] | None:
        """One application's own chances and suggestions; the gateway checks the owner."""
        return estimates.application_estimate(self.db, reference)
