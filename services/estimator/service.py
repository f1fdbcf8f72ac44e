"""The estimator service: the only entrypoint that runs the allocation engine's draws for the
chances of admission of open rounds, in a process of its own.

Each draw at city scale holds the CPU for 0.5-6 s. Inside the allocation service that froze
its eventlet hub, and every other allocation RPC (demand, catchment, rounds, results) waited
behind it. Here it holds only this process: the estimator shares the allocation database
(`ALLOCATION_DB_URI`) and writes the batches there; the allocation service reads them for
its RPCs (`demand`, `school_estimates`, `application_estimate`), which are plain reads.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

import eventlet
from nameko.dependency_providers import Config
from prometheus_client import Counter
from sqlalchemy.orm import Session

from services.allocation import estimates
from shared.db.dependency import Database
from shared.messaging import health
from shared.messaging.timers import timer

log = logging.getLogger(__name__)

DRAWS = Counter(
    "allocation_estimate_draws_total",
    "Estimate draws (whole allocations under a fresh seed) stored, of open rounds.",
)


class EstimatorService(health.Health):
    """Every ESTIMATE_SECONDS, the chances of every open round from fresh lottery draws."""

    name = "estimator"

    db: Session = Database()
    config: dict[str, Any] = Config()

    @timer("ESTIMATE_SECONDS", 300.0)
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
            # Between draws the hub runs this process's other work (health, metrics).
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
