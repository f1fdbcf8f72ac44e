"""The allocation service's estimate entrypoints: the RPCs that read the estimates.

A mixin of AllocationService (services.allocation.service), kept apart so each module
stays small. The draws themselves run in the estimator service (services/estimator), a
process of its own: at city scale each holds the CPU for seconds, and every other RPC of
this service would wait behind it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from services.allocation import estimates, finder, outcomes
from services.allocation.exceptions import ApplicationNotFound, RoundNotFound, WardNotFound
from shared.messaging.rpc import rpc


class EstimateEntrypoints:
    """Helping families choose: chances of admission and live demand of open rounds, the
    school finder, and the published rounds' outcomes per school."""

    db: Session

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

    @rpc(expected_exceptions=ApplicationNotFound)
    def find_schools_for(self, reference: str) -> dict[str, Any]:
        """The finder of one verified application: from the register's point of its address
        when there is one, else its ward's; the gateway checks the owner."""
        return finder.find_for_application(self.db, reference)

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
