"""The gateway's grouped, confirmed publishing of commands (gateway/commands.py) against the real
broker: each caller returns only once the broker confirmed its own message, and a message the
broker did not store fails its own caller, not the others of its batch."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import eventlet
import pytest
from kombu import Connection, Queue
from nameko.amqp.publish import UndeliverableMessage

from gateway.commands import GroupedCommands
from shared.messaging.bus import CONNECTION_LOST, MessageRefused
from tests.support.broker import drain, queue_depth
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.integration


def envelope() -> dict[str, Any]:
    event_id = str(uuid.uuid4())
    return {"event_id": event_id, "correlation_id": event_id, "type": "test", "payload": {}}


def declare(amqp_uri: str, name: str, **arguments: Any) -> None:
    with Connection(amqp_uri) as connection:
        Queue(name, durable=True, queue_arguments=arguments or None)(
            connection.default_channel
        ).declare()


@pytest.fixture
def commands(amqp_uri: str) -> Iterator[GroupedCommands]:
    grouped = GroupedCommands(amqp_uri, leaders=1)
    yield grouped
    grouped.close()


def send_at_once(
    commands: GroupedCommands, sends: list[tuple[str, dict[str, Any]]]
) -> list[BaseException | None]:
    """Each `(queue, envelope)` sent by a green thread of its own, all at once; what each
    caller got (None: confirmed)."""

    def one(queue: str, message: dict[str, Any]) -> BaseException | None:
        try:
            commands.send("", queue, message)
        except Exception as exc:
            return exc
        return None

    threads = [eventlet.spawn(one, queue, message) for queue, message in sends]
    return [thread.wait() for thread in threads]


def test_callers_sending_together_each_return_once_their_message_is_stored(
    commands: GroupedCommands, amqp_uri: str
) -> None:
    declare(amqp_uri, "grouped.work")
    sent = [envelope() for _ in range(60)]

    outcomes = send_at_once(commands, [("grouped.work", message) for message in sent])

    assert outcomes == [None] * 60
    stored = drain(amqp_uri, "grouped.work", expect=60)
    assert sorted(body["event_id"] for body, _ in stored) == sorted(m["event_id"] for m in sent)


def test_an_unroutable_command_fails_its_own_caller_only(
    commands: GroupedCommands, amqp_uri: str
) -> None:
    declare(amqp_uri, "grouped.work")
    sends = [("grouped.work", envelope()) for _ in range(20)]
    sends[7] = ("grouped.nowhere", envelope())  # no such queue: returned by the broker

    outcomes = send_at_once(commands, sends)

    assert isinstance(outcomes[7], UndeliverableMessage)
    assert outcomes[:7] + outcomes[8:] == [None] * 19
    assert queue_depth(amqp_uri, "grouped.work") == 19


def test_a_refused_message_fails_its_caller_and_every_confirmed_one_is_stored(
    commands: GroupedCommands, amqp_uri: str
) -> None:
    # A full queue that refuses more: the broker nacks what it does not store.
    declare(amqp_uri, "grouped.small", **{"x-max-length": 3, "x-overflow": "reject-publish"})
    sent = [envelope() for _ in range(10)]

    outcomes = send_at_once(commands, [("grouped.small", message) for message in sent])

    confirmed = {m["event_id"] for m, outcome in zip(sent, outcomes, strict=True) if not outcome}
    refused = [outcome for outcome in outcomes if outcome is not None]
    assert len(confirmed) == 3
    assert len(refused) == 7
    assert all(isinstance(outcome, MessageRefused) for outcome in refused)
    stored = drain(amqp_uri, "grouped.small", expect=3)
    assert {body["event_id"] for body, _ in stored} == confirmed


def test_a_lost_connection_is_reopened_and_an_unreachable_broker_fails_the_caller(
    amqp_uri: str,
) -> None:
    declare(amqp_uri, "grouped.work")
    vhost = amqp_uri.rsplit("/", 1)[1]
    proxy = TcpProxy("127.0.0.1", 5672)
    commands = GroupedCommands(f"pyamqp://guest:guest@127.0.0.1:{proxy.port}/{vhost}")
    try:
        commands.send("", "grouped.work", envelope())
        proxy.cut()
        proxy = TcpProxy("127.0.0.1", 5672, port=proxy.port)  # back, on new connections

        commands.send("", "grouped.work", envelope())  # the dropped channel is reopened
        proxy.cut()

        with pytest.raises(CONNECTION_LOST):
            commands.send("", "grouped.work", envelope())
    finally:
        proxy.cut()
        commands.close()
    assert queue_depth(amqp_uri, "grouped.work") == 2
