"""The registration service in a test's nameko container: what it stored, and a command
sent to it and handled."""

from __future__ import annotations

from typing import Any

from nameko.testing.services import entrypoint_waiter
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from services.registration.models import Application
from shared.messaging.bus import MessageBus


def applications(db_uri: str) -> list[Application]:
    """Every application the service stored."""
    engine = create_engine(db_uri)
    try:
        with Session(engine) as session:
            return list(session.scalars(select(Application)))
    finally:
        engine.dispose()


def submit(container: Any, bus: MessageBus, command: dict[str, Any]) -> None:
    """Send the command and wait until the service has handled it."""
    with entrypoint_waiter(container, "handle_submit_application"):
        bus.send_command("registration", command)
