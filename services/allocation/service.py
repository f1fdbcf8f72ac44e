"""nameko entrypoints of the allocation service."""

from __future__ import annotations

from typing import Any

from nameko.rpc import rpc
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from services.allocation.exceptions import RoundNotFound
from services.allocation.models import Round
from services.allocation.schemas import RoundView
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
    def health(self) -> dict[str, str]:
        """Readiness: the service answers and its database does too."""
        self.db.execute(text("SELECT 1"))
        return {"service": self.name, "database": "ok"}
