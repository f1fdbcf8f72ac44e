"""Quorum queues on the real broker: what `QUEUE_TYPE=quorum` declares, the delivery limit's
way to `<queue>.dead`, and `tools.migrate_queues` moving a classic broker over, losing nothing.

A single node takes quorum queues too (with one member); the cluster test
(tests/e2e/test_cluster.py) runs them on three nodes with one killed.
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import quote

import pytest
import requests
from kombu import Connection

from shared import topology
from shared.messaging.bus import MessageBus
from tests.support.broker import AUTH, MANAGEMENT, queue_depth
from tests.support.waiting import wait_for
from tools.migrate_queues import RPC_EXCHANGE, migrate
from tools.topology import all_queues, declare_all, service_names

pytestmark = pytest.mark.integration

QUORUM = topology.QueueSettings(topology.QUORUM, delivery_limit=2)
WORK = "registration.on.allocation.round_discarded"


def queue_types(amqp_uri: str) -> dict[str, str]:
    """Every queue of the vhost and its type, from the management API."""
    vhost = quote(amqp_uri.rsplit("/", 1)[1], safe="")
    answer = requests.get(f"{MANAGEMENT}/api/queues/{vhost}", auth=AUTH, timeout=10)
    answer.raise_for_status()
    return {queue["name"]: queue["type"] for queue in answer.json()}


def envelope(kind: str = "round_discarded") -> dict[str, Any]:
    event_id = str(uuid.uuid4())
    return {"event_id": event_id, "correlation_id": event_id, "type": kind, "payload": {}}


def test_quorum_settings_declare_every_durable_queue_quorum(amqp_uri: str) -> None:
    declare_all(amqp_uri, [1000, 5000], QUORUM)

    types = queue_types(amqp_uri)
    expected = {queue.name for queue in all_queues([1000, 5000])}
    assert expected <= set(types)
    assert {types[name] for name in expected} == {"quorum"}


def test_classic_settings_declare_what_single_nodes_always_had(amqp_uri: str) -> None:
    declare_all(amqp_uri, [1000])

    types = queue_types(amqp_uri)
    assert {types[queue.name] for queue in all_queues([1000])} == {"classic"}
    # and the quorum arguments are refused on them: a type cannot change in place
    with pytest.raises(Exception, match="PRECONDITION_FAILED"):
        declare_all(amqp_uri, [1000], QUORUM)


def test_a_message_handed_out_past_the_delivery_limit_is_parked_in_its_dead_queue(
    amqp_uri: str, bus: MessageBus
) -> None:
    declare_all(amqp_uri, [1000], QUORUM)
    sent = envelope()
    bus.publish_event("allocation", sent)

    # A consumer that dies on it every time: the message goes back, again and again.
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        for _ in range(QUORUM.delivery_limit + 1):
            message = wait_for(lambda: channel.basic_get(WORK, no_ack=False), what="a redelivery")
            channel.basic_reject(message.delivery_tag, requeue=True)

    wait_for(lambda: queue_depth(amqp_uri, f"{WORK}.dead") == 1, timeout=10, what="dead letter")
    assert queue_depth(amqp_uri, WORK) == 0
    with Connection(amqp_uri) as connection:
        parked = connection.default_channel.basic_get(f"{WORK}.dead", no_ack=True)
    assert json.loads(parked.body)["event_id"] == sent["event_id"]


def test_migration_moves_a_classic_broker_to_quorum_losing_nothing(
    amqp_uri: str, bus: MessageBus
) -> None:
    delays = [8000]  # longer than the migration takes: the retries are still waiting
    declare_all(amqp_uri, delays)
    with Connection(amqp_uri) as connection:
        topology.rpc_queue("registration", RPC_EXCHANGE)(connection.default_channel).declare()
    waiting = [envelope() for _ in range(30)]
    for sent in waiting:
        bus.publish_event("allocation", sent)
    # Three retries waiting in the delay queue, each to return to the work queue after it.
    retries = [envelope() for _ in range(3)]
    for sent in retries:
        delay = topology.delay_exchange(delays[0])
        bus._publish(sent, exchange=delay, routing_key=WORK, mandatory=True)

    moved = migrate(amqp_uri, QUORUM, delays)

    types = queue_types(amqp_uri)
    assert moved[WORK] == 30 and moved[f"tuyensinh.delay.{delays[0]}ms"] == 3
    assert types[WORK] == types[f"{WORK}.dead"] == types["rpc-registration"] == "quorum"
    assert {f"rpc-{service}" for service in service_names()} <= set(types)
    assert not [name for name in types if name.endswith(".migrating")]
    # The retries still come back to their work queue after their delay.
    wait_for(lambda: queue_depth(amqp_uri, WORK) == 33, timeout=30, what="the retries back")
    with Connection(amqp_uri) as connection:
        channel = connection.default_channel
        ids = [json.loads(channel.basic_get(WORK, no_ack=True).body)["event_id"] for _ in range(33)]
    assert sorted(ids) == sorted(sent["event_id"] for sent in waiting + retries)
    # A second run finds nothing left to do.
    assert migrate(amqp_uri, QUORUM, delays) == {}
