"""The readiness RPC every service answers: the gateway's `/readyz` calls it.

A service takes it by subclassing `health.Health` with the module imported, not the class:
`nameko run` would take a class imported into the service's module for a service of its own.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from shared.messaging.rpc import rpc


class Health:
    """A mixin of each nameko service (which gives it `name` and its `db` session)."""

    name: str
    db: Any

    @rpc
    def health(self) -> dict[str, str]:
        """Readiness: the service answers and its database does too."""
        self.db.execute(text("SELECT 1"))
        return {"service": self.name, "database": "ok"}
