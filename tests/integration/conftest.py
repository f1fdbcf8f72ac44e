"""Fixtures the integration tests share: the allocation service running on its own (with
registration's side played by a fake over the real transport), and the allocation service
with the small demo city's schools and its 2027 rounds open."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from services.allocation.cli import load_demo
from services.allocation.schools import import_city
from services.allocation.service import AllocationService
from shared.db.engine import build_engine
from shared.messaging.bus import MessageBus
from tests.support.allocation_harness import FakeRegistration, Harness
from tools.demo_city import build_city


@pytest.fixture
def harness(
    make_database: Callable[[str], str],
    container_factory: Any,
    service_config: Callable[..., dict[str, Any]],
    amqp_uri: str,
    bus: MessageBus,
) -> Iterator[Harness]:
    """Allocation (with the fake registration) running on fresh grade-1 schools."""
    db_uri = make_database("allocation")
    config = service_config(
        db_uri,
        OFFER_EXPIRY_SECONDS=0.2,
        EXPIRY_BATCH=1,
        REGISTRATION_TIMEOUT_SECONDS=2,
        OFFER_REMINDER_CHECK_SECONDS=0.2,
        OFFER_REMINDER_HOURS=24,
    )
    FakeRegistration.answer, FakeRegistration.owners = {"unverified": 0, "backlog": 0}, {}
    registration = container_factory(FakeRegistration, config)
    registration.start()
    container = container_factory(AllocationService, config)
    container.start()
    harness = Harness(container, db_uri, bus, amqp_uri)
    yield harness
    harness.engine.dispose()


@pytest.fixture
def allocation(
    tmp_path: Path,
    container_factory: Any,
    make_database: Callable[[str], str],
    service_config: Callable[..., dict[str, Any]],
) -> Any:
    """A running allocation service with the small demo city and its 2027 rounds open."""
    db_uri = make_database("allocation")
    engine = build_engine(db_uri)
    build_city(tmp_path / "city", "small", 2027, 2027)
    with Session(engine) as session, session.begin():
        load_demo(session, 2027)
        import_city(session, tmp_path / "city")
    engine.dispose()
    container = container_factory(AllocationService, service_config(db_uri))
    container.start()
    container.db_uri = db_uri
    return container
