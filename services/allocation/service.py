"""nameko entrypoints of the allocation service."""

from __future__ import annotations

from typing import Any

from nameko.rpc import rpc
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from services.allocation import schools
from services.allocation.exceptions import RoundNotFound, WardNotFound
from services.allocation.models import Round
from services.allocation.schemas import RoundView, SchoolView, WardView
from shared.db.dependency import Database


class AllocationService:
    """Owns the rounds; later, the schools and the allocation itself."""

    name = "allocation"

    db: Session = Database()

    @rpc
    def list_open_rounds(self) -> list[dict[str, Any]]:
        """Rounds that accept applications now."""
        query = select(Round).where(Round.status == "open").order_by(Round.round_id)
        rounds = self.db.scalars(query)
        return RoundView(many=True).dump(rounds)

    @rpc(expected_exceptions=RoundNotFound)
    def get_round(self, round_id: str) -> dict[str, Any]:
        """One round by id."""
        round_ = self.db.get(Round, round_id)
        if round_ is None:
            raise RoundNotFound(round_id)
        return RoundView().dump(round_)

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

    @rpc
    def health(self) -> dict[str, str]:
        """Readiness: the service answers and its database does too."""
        self.db.execute(text("SELECT 1"))
        return {"service": self.name, "database": "ok"}
