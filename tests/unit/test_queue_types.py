"""Queue arguments by role and QUEUE_TYPE (shared.topology.queue_arguments)."""

from __future__ import annotations

import pytest
from kombu import Exchange

from shared import topology
from tools.topology import all_queues, work_queues

QUORUM = topology.QueueSettings(topology.QUORUM, delivery_limit=7)


def test_classic_queues_keep_the_arguments_single_nodes_were_declared_with() -> None:
    # Any change here would make every existing broker refuse the declaration (406).
    for queue in work_queues():
        assert not queue.queue_arguments
    assert not topology.dead_letter_queue("registration.submit_application").queue_arguments
    assert topology.delay_queue(1000).queue_arguments == {
        "x-message-ttl": 1000,
        "x-dead-letter-exchange": "",
    }
    assert topology.rpc_queue("registration", Exchange("nameko-rpc")).queue_arguments is None


def test_quorum_work_queues_park_past_the_delivery_limit_in_their_dead_queue() -> None:
    queue = topology.command_queue("registration", "submit_application", QUORUM)

    assert queue.queue_arguments == {
        "x-queue-type": "quorum",
        "x-delivery-limit": 7,
        "x-dead-letter-exchange": "tuyensinh.dead",
        "x-dead-letter-routing-key": "registration.submit_application",
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }
    dead = topology.dead_letter_queue(queue.name, QUORUM)
    assert dead.routing_key == queue.name and dead.exchange.name == "tuyensinh.dead"


def test_every_durable_queue_is_quorum_and_delays_dead_letter_at_least_once() -> None:
    for queue in all_queues([1000, 5000], QUORUM):
        assert queue.queue_arguments["x-queue-type"] == "quorum"
    delay = topology.delay_queue(5000, QUORUM).queue_arguments
    assert delay["x-message-ttl"] == 5000 and delay["x-dead-letter-exchange"] == ""
    assert delay["x-dead-letter-strategy"] == "at-least-once"
    rpc = topology.rpc_queue("allocation", Exchange("nameko-rpc"), QUORUM)
    assert rpc.queue_arguments == {"x-queue-type": "quorum"}


def test_settings_come_from_the_config_and_refuse_unknown_types() -> None:
    assert topology.queue_settings({}) == topology.CLASSIC_QUEUES
    read = topology.queue_settings({"QUEUE_TYPE": "Quorum", "QUEUE_DELIVERY_LIMIT": "5"})
    assert read == topology.QueueSettings("quorum", 5)
    with pytest.raises(ValueError, match="QUEUE_TYPE"):
        topology.queue_settings({"QUEUE_TYPE": "stream"})
