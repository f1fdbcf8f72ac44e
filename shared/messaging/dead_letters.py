"""Dead-letter queues for operators: see what is parked, and send it back to its work queue.

A message lands in `<queue>.dead` after its last retry (see `entrypoints.FailureRouter`).
`replay` republishes it, confirmed and persistent, straight to the work queue it came from
(through the default exchange, so no other subscriber of the event gets a second copy),
without the attempt header so it gets a fresh round of retries, and acks the dead copy only
after the broker confirmed the new one: a crash in between leaves a duplicate in the work
queue, never a loss, and the consumers dedupe on event_id.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from amqp.exceptions import NotFound
from kombu import Connection, Exchange
from kombu.message import Message as KombuMessage
from nameko.amqp.publish import Publisher

from shared import topology
from shared.messaging.bus import ATTEMPT_HEADER, OUTAGE_HEADER

FAILURE_HEADER, DETAIL_HEADER = "x-tuyensinh-failure", "x-tuyensinh-detail"
REPLAYED_HEADER = "x-tuyensinh-replayed"
STRIPPED_ON_REPLAY = (ATTEMPT_HEADER, OUTAGE_HEADER, FAILURE_HEADER, DETAIL_HEADER)
DEFAULT_EXCHANGE = Exchange("")  # routes to the queue named by the routing key


@dataclass(frozen=True)
class DeadLetter:
    """A parked message: its ids, why it was parked, and its decoded body."""

    message_id: str | None
    type: str | None
    attempts: int
    failure: str
    detail: str
    replayed: int
    headers: dict[str, Any]
    body: Any


def work_queue_name(queue: str, work_queues: Collection[str]) -> str:
    """The work queue a name refers to (`x` or `x.dead`); LookupError if it is none of
    `work_queues` (the handlers' queues: `tools.topology`)."""
    name = queue.removesuffix(".dead")
    if name not in work_queues:
        raise LookupError(f"{name} is not the queue of any handler")
    return name


def depths(amqp_uri: str, work_queues: Iterable[str]) -> dict[str, int]:
    """Messages parked in the dead-letter queue of each of `work_queues` that exists."""
    found = {}
    with Connection(amqp_uri, connect_timeout=5) as connection:
        for work in work_queues:
            dead = topology.dead_letter_queue(work)
            channel = connection.channel()
            try:
                found[dead.name] = int(channel.queue_declare(dead.name, passive=True)[1])
            except NotFound:
                pass  # never declared on this vhost: nothing parked
            finally:
                if channel.is_open:
                    channel.close()
    return found


def peek(amqp_uri: str, work: str, limit: int) -> list[DeadLetter]:
    """Up to `limit` messages parked from the work queue `work`, left where they are."""
    dead_name = topology.dead_letter_queue(work).name
    letters = []
    with _channel(amqp_uri) as channel:
        for _ in range(limit):
            message = channel.basic_get(dead_name, no_ack=False)
            if message is None:
                break
            letters.append(_describe(channel.message_to_python(message)))
        # Closing the channel returns every message taken without an ack to the queue.
    return letters


def replay(amqp_uri: str, work: str, limit: int | None = None) -> int:
    """Move up to `limit` messages parked from the work queue `work` (all that are parked
    now, if None) back to it.

    Only the messages parked when it starts are replayed: one that fails again and is
    parked anew while this runs is not picked up a second time.
    """
    dead_name = topology.dead_letter_queue(work).name
    publisher = Publisher(amqp_uri, use_confirms=True, mandatory=True)
    replayed = 0
    with _channel(amqp_uri) as channel:
        parked = int(channel.queue_declare(dead_name, passive=True)[1])
        budget = parked if limit is None else min(limit, parked)
        while replayed < budget:
            raw = channel.basic_get(dead_name, no_ack=False)
            if raw is None:
                break
            message: KombuMessage = channel.message_to_python(raw)
            headers = {
                key: value
                for key, value in (message.headers or {}).items()
                if key not in STRIPPED_ON_REPLAY
            }
            headers[REPLAYED_HEADER] = int(headers.get(REPLAYED_HEADER, 0)) + 1
            publisher.publish(
                message.body,
                exchange=DEFAULT_EXCHANGE,
                routing_key=work,
                content_type=message.content_type,
                content_encoding=message.content_encoding,
                headers=headers,
                message_id=message.properties.get("message_id"),
                correlation_id=message.properties.get("correlation_id"),
            )  # returns once confirmed; raises (and the dead copy stays) otherwise
            message.ack()
            replayed += 1
    return replayed


@contextmanager
def _channel(amqp_uri: str) -> Iterator[Any]:
    with Connection(amqp_uri, connect_timeout=5) as connection:
        channel = connection.channel()
        try:
            yield channel
        finally:
            if channel.is_open:
                channel.close()


def _describe(message: KombuMessage) -> DeadLetter:
    headers = dict(message.headers or {})
    try:
        body = message.decode()
    except Exception:  # an undecodable body is exactly what an operator needs to see
        body = message.body
    return DeadLetter(
        message_id=message.properties.get("message_id"),
        type=body.get("type") if isinstance(body, dict) else None,
        attempts=int(headers.get(ATTEMPT_HEADER, 0)),
        failure=str(headers.get(FAILURE_HEADER, "")),
        detail=str(headers.get(DETAIL_HEADER, "")),
        replayed=int(headers.get(REPLAYED_HEADER, 0)),
        headers=headers,
        body=body,
    )
