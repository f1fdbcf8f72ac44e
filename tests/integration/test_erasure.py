"""Erasure in the registration service, in a real nameko container on the real broker and
PostgreSQL: a request withdraws an open application and is recorded; the retention rule
erases it in place once the round has closed, and announces it through the outbox."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from nameko.testing.services import entrypoint_hook, entrypoint_waiter
from sqlalchemy import create_engine, update
from sqlalchemy.orm import Session

from services.registration.erasure import PERSONAL
from services.registration.models import Application
from services.registration.service import RegistrationService
from shared.contracts.envelope import make_message
from shared.messaging.bus import MessageBus
from tests.support import factories
from tests.support.broker import drain, tap
from tests.support.registration_calls import applications, submit

pytestmark = pytest.mark.integration

REFERENCE = "TSREF000000000001"
ROUND = "2027-grade_1"


@pytest.fixture
def registration(
    container_factory: Any,
    make_database: Callable[[str], str],
    service_config: Callable[..., dict[str, Any]],
    bus: MessageBus,
) -> Any:
    """Registration with one application in the open round; erasure due at once, the
    retention timer left to the test (called through its entrypoint)."""
    db_uri = make_database("registration")
    config = service_config(db_uri, ERASURE_RETENTION_DAYS=0, ERASURE_SWEEP_SECONDS=3600)
    container = container_factory(RegistrationService, config)
    container.start()
    with entrypoint_waiter(container, "handle_round_opened"):
        bus.publish_event("allocation", factories.round_opened())
    submit(container, bus, factories.submit_application(reference=REFERENCE))
    container.db_uri = db_uri
    return container


def ask_erasure(container: Any, bus: MessageBus) -> None:
    command = make_message("request_erasure", {"reference": REFERENCE, "round_id": ROUND})
    with entrypoint_waiter(container, "handle_request_erasure"):
        bus.send_command("registration", command)


def close_round(container: Any, bus: MessageBus) -> None:
    with entrypoint_waiter(container, "handle_round_closed"):
        bus.publish_event("allocation", make_message("round_closed", {"round_id": ROUND}))


def run_retention_rule(container: Any) -> None:
    with entrypoint_hook(container, "erase_due") as erase_due:
        erase_due()


def test_a_request_while_open_withdraws_and_waits_for_the_round_to_close(
    registration: Any, bus: MessageBus, amqp_uri: str
) -> None:
    withdrawn = tap(amqp_uri, "registration", "application_withdrawn")

    ask_erasure(registration, bus)
    run_retention_rule(registration)

    [stored] = applications(registration.db_uri)
    assert stored.status == "withdrawn"
    assert stored.erasure_requested_at is not None
    assert stored.erased_at is None and stored.citizen_id == "001221000123"
    assert len(drain(amqp_uri, withdrawn.name, expect=1)) == 1


def test_the_retention_rule_erases_in_place_after_close_and_announces_it(
    registration: Any, bus: MessageBus, amqp_uri: str
) -> None:
    erased = tap(amqp_uri, "registration", "application_erased")
    ask_erasure(registration, bus)
    close_round(registration, bus)

    run_retention_rule(registration)
    run_retention_rule(registration)  # a second run finds nothing more to do

    [stored] = applications(registration.db_uri)
    assert {name: getattr(stored, name) for name in PERSONAL} == dict.fromkeys(PERSONAL)
    assert (stored.reference, stored.round_id, stored.status) == (REFERENCE, ROUND, "withdrawn")
    assert stored.preferences == ["TH-001", "TH-002"] and stored.erased_at is not None
    [(event, _)] = drain(amqp_uri, erased.name, expect=2, timeout=3)
    assert event["payload"] == {"reference": REFERENCE, "round_id": ROUND}


def test_a_child_holding_a_seat_in_a_closed_round_is_not_erased(
    registration: Any, bus: MessageBus
) -> None:
    close_round(registration, bus)
    engine = create_engine(registration.db_uri)
    with Session(engine) as session, session.begin():
        session.execute(update(Application).values(status="offered"))
    engine.dispose()

    ask_erasure(registration, bus)
    run_retention_rule(registration)

    [stored] = applications(registration.db_uri)
    assert stored.erasure_requested_at is None and stored.citizen_id == "001221000123"


def test_the_gateway_hears_which_children_hold_a_place_before_it_asks(
    registration: Any, bus: MessageBus
) -> None:
    def holding() -> list[str]:
        with entrypoint_hook(registration, "holding_a_place") as ask:
            found: list[str] = ask([REFERENCE, "TSNOSUCHAPPLICATION"])
        return found

    engine = create_engine(registration.db_uri)
    with Session(engine) as session, session.begin():
        session.execute(update(Application).values(status="offered"))
    engine.dispose()
    assert holding() == []  # the round is open: the application would be withdrawn first

    close_round(registration, bus)
    assert holding() == [REFERENCE]
