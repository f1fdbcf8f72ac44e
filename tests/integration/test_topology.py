"""The broker topology is derived from the handlers and cannot drift from them: after the
deploy step (`tools.topology`), every handler of every real service class has its queue with
exactly the bindings its decorator states, and no binding on the events or commands exchange
leads to a queue that no handler consumes. Read back from the broker's management API."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

import pytest
import requests
from kombu import Connection

from shared import topology
from shared.messaging.handlers import handle_command, handle_event, handler_specs
from tests.support.broker import AUTH, MANAGEMENT, queue_depth
from tools.topology import Handler, declare, handlers

pytestmark = pytest.mark.integration

OURS = (topology.EVENTS.name, topology.COMMANDS.name)


def broker_bindings(amqp_uri: str) -> dict[str, set[topology.Binding]]:
    """Each queue bound to the events or commands exchange, and its bindings there."""
    vhost = quote(amqp_uri.rsplit("/", 1)[1], safe="")
    answer = requests.get(f"{MANAGEMENT}/api/bindings/{vhost}", auth=AUTH, timeout=10)
    answer.raise_for_status()
    found: dict[str, set[topology.Binding]] = {}
    for row in answer.json():
        if row["source"] in OURS and row["destination_type"] == "queue":
            binding = topology.Binding(row["source"], row["routing_key"])
            found.setdefault(row["destination"], set()).add(binding)
    return found


def drift(amqp_uri: str, declared: Sequence[Handler]) -> list[str]:
    """What differs between the handlers and the broker (nothing, if they agree)."""
    bound = broker_bindings(amqp_uri)
    wanted = {h.queue_name: set(h.spec.bindings(h.service)) for h in declared}
    problems = [
        f"{queue}: bound {sorted(bound.get(queue, set()))}, its handler wants {sorted(keys)}"
        for queue, keys in wanted.items()
        if bound.get(queue, set()) != keys
    ]
    problems += [f"{queue} is bound but no handler consumes it" for queue in bound - wanted.keys()]
    return problems


def test_every_handler_has_its_bindings_and_no_binding_lacks_a_handler(amqp_uri: str) -> None:
    declared = handlers()
    assert len(declared) >= 20  # every service's, mixins' included

    declare(amqp_uri)

    assert drift(amqp_uri, declared) == []
    # A queue per handler: two handlers never share one.
    assert len({h.queue_name for h in declared}) == len(declared)


def test_the_check_fails_on_a_missing_binding_and_on_a_queue_without_handler(
    amqp_uri: str,
) -> None:
    declared = handlers()
    declare(amqp_uri)
    outcomes = next(h for h in declared if h.queue_name == "registration.on.outcomes")
    with Connection(amqp_uri) as connection:
        channel = connection.default_channel
        channel.queue_unbind(outcomes.queue_name, topology.EVENTS.name, "allocation.seat_offered")
        channel.queue_declare("registration.on.allocation.seat_moved", durable=True)
        channel.queue_bind(
            "registration.on.allocation.seat_moved", topology.EVENTS.name, "allocation.seat_moved"
        )

    problems = drift(amqp_uri, declared)

    assert len(problems) == 2, problems
    assert problems[0].startswith("registration.on.outcomes: bound")
    assert (
        problems[1] == "registration.on.allocation.seat_moved is bound but no handler consumes it"
    )


class LedgerService:
    """A service of the test's own: its container declares its queues as it starts."""

    name = "ledger"

    @handle_command("settle", batch=10, with_events=[("allocation", "round_closed")])
    def handle_settle(self, bodies: list[dict[str, Any]]) -> None:
        """Settle a batch."""

    @handle_event("allocation", "seat_offered", "offer_expired", queue="seats")
    def handle_seat_event(self, body: dict[str, Any]) -> None:
        """Note a seat's change."""

    @handle_event("registration", "application_erased")
    def handle_application_erased(self, body: dict[str, Any]) -> None:
        """Forget an application."""


def test_a_service_declares_its_own_handlers_queues_as_it_starts(
    amqp_uri: str, container_factory: Callable[..., Any]
) -> None:
    container = container_factory(LedgerService, {"AMQP_URI": amqp_uri, "RETRY_DELAYS_MS": [100]})
    container.start()

    bound = broker_bindings(amqp_uri)

    assert bound == {
        "ledger.settle": {
            topology.Binding("tuyensinh.commands", "ledger.settle"),
            topology.Binding("tuyensinh.events", "allocation.round_closed"),
        },
        "ledger.on.seats": {
            topology.Binding("tuyensinh.events", "allocation.seat_offered"),
            topology.Binding("tuyensinh.events", "allocation.offer_expired"),
        },
        "ledger.on.registration.application_erased": {
            topology.Binding("tuyensinh.events", "registration.application_erased"),
        },
    }
    ledger = [Handler("ledger", name, spec) for name, spec in handler_specs(LedgerService).items()]
    assert drift(amqp_uri, ledger) == []
    for queue in (*bound, *(f"{name}.dead" for name in bound), "tuyensinh.delay.100ms"):
        assert queue_depth(amqp_uri, queue) == 0  # declared (passively found), and empty
