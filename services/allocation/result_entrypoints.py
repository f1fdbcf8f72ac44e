"""The allocation service's result entrypoints: the published results, the department's
dashboard and the export, all plain reads.

A mixin of AllocationService (services.allocation.service), kept apart so each module
stays small.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from services.allocation import dashboard, results
from services.allocation.exceptions import (
    InvalidTransition,
    OfferNotFound,
    RoundNotFound,
    SchoolNotFound,
)
from shared.messaging.rpc import rpc

ROUND_ERRORS = (RoundNotFound, InvalidTransition)


class ResultEntrypoints:
    """Results for families and schools, a round's figures for the department."""

    db: Session

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
