"""Confirmed, persistent publishing of envelopes on kombu's pooled producers."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from amqp import Message as AmqpMessage
from amqp.exceptions import ConnectionError as AMQPConnectionError
from kombu import Connection, Exchange, Queue
from kombu.exceptions import OperationalError as KombuOperationalError
from kombu.message import Message as KombuMessage
from nameko.amqp.publish import Publisher, UndeliverableMessage

from shared import topology

# What a lost broker connection raises (socket, AMQP or kombu level): a message being settled
# or a reply being sent on it is redelivered by the broker once the connection is gone.
CONNECTION_LOST = (OSError, AMQPConnectionError, KombuOperationalError)

DEFAULT_RETRY_DELAYS_MS = (1000, 5000, 30000)
ATTEMPT_HEADER = "x-tuyensinh-attempt"
# Retries while the handler's database was unreachable (they spend no attempt).
OUTAGE_HEADER = "x-tuyensinh-outage-retries"


def wire_message(envelope: Mapping[str, Any]) -> AmqpMessage:
    """The persistent AMQP message of an envelope: JSON, with its IDs as properties."""
    return AmqpMessage(
        json.dumps(envelope),
        content_type="application/json",
        content_encoding="utf-8",
        delivery_mode=2,
        message_id=envelope["event_id"],
        correlation_id=envelope["correlation_id"],
    )


def retry_delays(config: Mapping[str, Any]) -> tuple[int, ...]:
    """The backoff schedule (milliseconds) for failed messages; its length is the retry count."""
    return tuple(int(delay) for delay in config.get("RETRY_DELAYS_MS", DEFAULT_RETRY_DELAYS_MS))


class MessageBus:
    """Publishes persistent messages and waits for the broker's confirm before returning.

    Producers come from kombu's per-process pool, so each greenlet borrows its own and
    none is shared while in use.
    """

    def __init__(self, amqp_uri: str, *, max_retries: int = 3) -> None:
        self.amqp_uri = amqp_uri
        self._publisher = Publisher(
            amqp_uri,
            use_confirms=True,
            retry=True,
            retry_policy={
                "max_retries": max_retries,
                "interval_start": 0,
                "interval_step": 0.5,
                "interval_max": 2,
            },
        )

    def publish_event(self, source: str, envelope: Mapping[str, Any]) -> None:
        """Announce an event; with no subscriber it is simply not routed."""
        self._publish(
            envelope,
            exchange=topology.EVENTS,
            routing_key=topology.event_routing_key(source, envelope["type"]),
            mandatory=False,
        )

    def send_command(self, service: str, envelope: Mapping[str, Any]) -> None:
        """Send a command to the one service that handles it; unroutable raises."""
        queue = topology.command_queue_name(service, envelope["type"])
        self._publish(envelope, exchange=topology.COMMANDS, routing_key=queue, mandatory=True)

    def forward(
        self,
        message: KombuMessage,
        *,
        exchange: Exchange,
        routing_key: str,
        headers: Mapping[str, Any],
    ) -> None:
        """Republish a received message byte for byte, with extra headers."""
        self._publisher.publish(
            message.body,
            exchange=exchange,
            routing_key=routing_key,
            content_type=message.content_type,
            content_encoding=message.content_encoding,
            headers={**(message.headers or {}), **headers},
            message_id=message.properties.get("message_id"),
            correlation_id=message.properties.get("correlation_id"),
            mandatory=True,
        )

    def _publish(
        self, envelope: Mapping[str, Any], *, exchange: Exchange, routing_key: str, mandatory: bool
    ) -> None:
        self._publisher.publish(
            dict(envelope),
            exchange=exchange,
            routing_key=routing_key,
            message_id=envelope["event_id"],
            correlation_id=envelope["correlation_id"],
            mandatory=mandatory,
        )


def declare_queues(
    amqp_uri: str,
    work: Iterable[Queue],
    retry_delays_ms: Sequence[int],
    settings: topology.QueueSettings = topology.CLASSIC_QUEUES,
) -> None:
    """Open a short-lived connection and declare the exchanges, the `work` queues with their
    dead-letter queues, and the delay queues (see `shared.topology.declare`)."""
    with Connection(amqp_uri, connect_timeout=5) as connection:
        connection.ensure_connection(max_retries=3)
        topology.declare(connection, work, retry_delays_ms, settings)


class MessageRefused(ConnectionError):
    """The broker refused (nacked) a published message: it is not stored."""


class PipelinedPublisher:
    """Publishes many messages on one channel and waits once for all their confirms.

    Waiting for each confirm in turn caps a publisher near 1.7k messages/s; with the whole
    batch in flight the broker confirms them together. Owned by one green thread at a time
    (the outbox relay; a leader of the gateway's grouped commands): a channel must never be
    used by two at once.
    """

    def __init__(self, amqp_uri: str, timeout: float = 30.0) -> None:
        self.amqp_uri, self.timeout = amqp_uri, timeout
        self._connection: Any = None
        self._channel: Any = None
        self._unconfirmed: set[int] = set()
        self._nacked: set[int] = set()
        self._returned: set[str] = set()
        self._sent = 0

    def publish_events(self, events: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        """Publish `(source, envelope)` pairs persistently; return once all are confirmed."""
        key = topology.event_routing_key
        self.publish([(topology.EVENTS.name, key(s, e["type"]), e) for s, e in events])

    def publish(self, messages: Sequence[tuple[str, str, Mapping[str, Any]]]) -> None:
        """Publish `(exchange, routing_key, envelope)` triples persistently; return once all
        are confirmed, else raise (a half-confirmed batch is published again by the caller)."""
        outcomes = self.publish_each([(*message, False) for message in messages])
        failed = next((outcome for outcome in outcomes if outcome is not None), None)
        if failed is not None:
            self.close()
            raise failed

    def publish_each(
        self, messages: Sequence[tuple[str, str, Mapping[str, Any], bool]]
    ) -> list[Exception | None]:
        """Publish `(exchange, routing_key, envelope, mandatory)` persistently and wait once
        for every confirm. Each message's outcome: None once the broker confirmed it stored,
        `UndeliverableMessage` if it was returned unroutable (`mandatory`), `MessageRefused`
        if nacked. Raises, and drops the connection, if not every confirm arrived."""
        try:
            channel = self._open()
            first = self._sent + 1  # delivery tags count from 1 per channel
            for exchange, routing_key, envelope, mandatory in messages:
                channel._basic_publish(wire_message(envelope), exchange, routing_key, mandatory)
                self._sent += 1
                self._unconfirmed.add(self._sent)
            deadline = time.monotonic() + self.timeout
            while self._unconfirmed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("the broker did not confirm the batch in time")
                self._connection.drain_events(timeout=remaining)
        except BaseException:
            self.close()  # a half-confirmed channel is not reused
            raise
        outcomes: list[Exception | None] = []
        # A returned message is returned before it is confirmed (RabbitMQ's order).
        for tag, (_, _, envelope, _) in enumerate(messages, start=first):
            if tag in self._nacked:
                outcomes.append(MessageRefused("the broker refused (nacked) the message"))
            elif envelope["event_id"] in self._returned:
                outcomes.append(UndeliverableMessage())
            else:
                outcomes.append(None)
        self._nacked.clear()
        self._returned.clear()
        return outcomes

    def close(self) -> None:
        """Drop the connection (it is reopened on the next batch)."""
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            try:
                connection.collect()
            except Exception:  # a dead connection cannot close cleanly
                pass

    def _open(self) -> Any:
        if self._channel is None:
            self._connection = Connection(self.amqp_uri, connect_timeout=10)
            self._connection.ensure_connection(max_retries=1)
            self._channel = self._connection.channel()
            self._channel.confirm_select()
            self._channel.events["basic_ack"].add(self._on_ack)
            self._channel.events["basic_nack"].add(self._on_nack)
            self._channel.events["basic_return"].add(self._on_return)
            self._unconfirmed, self._sent = set(), 0
            self._nacked, self._returned = set(), set()
        return self._channel

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        self._settled(delivery_tag, multiple)

    def _on_nack(self, delivery_tag: int, multiple: bool) -> None:
        self._nacked |= self._settled(delivery_tag, multiple)

    def _settled(self, delivery_tag: int, multiple: bool) -> set[int]:
        """Take the confirmed tags out of the unconfirmed ones; which they were."""
        if multiple:
            settled = {tag for tag in self._unconfirmed if tag <= delivery_tag}
        else:
            settled = {delivery_tag} & self._unconfirmed
        self._unconfirmed -= settled
        return settled

    def _on_return(self, exc: Exception, exchange: str, routing_key: str, message: Any) -> None:
        self._returned.add(message.properties.get("message_id"))
