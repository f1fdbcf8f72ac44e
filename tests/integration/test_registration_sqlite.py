"""The registration service on SQLite, the embedded default of `make run`: a batch of
submissions is stored once, counted, announced and read back over RPC, as on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from nameko.testing.services import entrypoint_hook, entrypoint_waiter
from sqlalchemy import create_engine, text

from services.registration.service import RegistrationService
from shared.db.migrate import upgrade
from shared.messaging.bus import MessageBus
from tests.support import factories
from tests.support.broker import drain, tap

pytestmark = pytest.mark.integration

REFERENCES = [f"TSREF00000000SQ{n}" for n in range(3)]


def test_a_batch_of_submissions_is_stored_counted_and_announced_on_sqlite(
    container_factory: Any,
    service_config: Callable[..., dict[str, Any]],
    bus: MessageBus,
    amqp_uri: str,
    tmp_path: Path,
) -> None:
    db_uri = f"sqlite:///{tmp_path / 'registration.db'}"
    upgrade("registration", db_uri)
    container = container_factory(RegistrationService, service_config(db_uri))
    container.start()
    with entrypoint_waiter(container, "handle_round_opened"):
        bus.publish_event("allocation", factories.round_opened())
    announced = tap(amqp_uri, "registration", "application_received")

    commands = [
        factories.submit_application(reference=ref, citizen_id=f"00122100012{n}")
        for n, ref in enumerate(REFERENCES)
    ]
    with entrypoint_waiter(container, "handle_submit_application"):
        for command in commands:  # within the batch's wait: one batch, one transaction
            bus.send_command("registration", command)

    events = drain(amqp_uri, announced.name, expect=3)
    assert sorted(event["payload"]["reference"] for event, _ in events) == REFERENCES
    engine = create_engine(db_uri)
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT count(*) FROM applications")).scalar_one()
        audited = connection.execute(text("SELECT count(*) FROM audit_log")).scalar_one()
        counted = connection.execute(
            text("SELECT n FROM live_tallies WHERE series = 'status' AND key = 'received'")
        ).scalar_one()
    engine.dispose()
    assert (stored, counted) == (3, 3)
    assert audited == 0  # these commands carry no audit entry (an older gateway's)
    with entrypoint_hook(container, "get_applications") as get_applications:
        found = get_applications(REFERENCES)
    assert sorted(found) == REFERENCES and not found[REFERENCES[0]]["practice"]
