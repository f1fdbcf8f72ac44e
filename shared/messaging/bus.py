"""Confirmed, persistent publishing of envelopes on kombu's pooled producers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kombu import Exchange
from kombu.message import Message as KombuMessage
from nameko.amqp.publish import Publisher

from shared import topology

DEFAULT_RETRY_DELAYS_MS = (1000, 5000, 30000)
ATTEMPT_HEADER = "x-tuyensinh-attempt"


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
        queue = topology.command_queue(service, envelope["type"])
        self._publish(envelope, exchange=topology.COMMANDS, routing_key=queue.name, mandatory=True)

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


def declare_topology(amqp_uri: str, retry_delays_ms: Sequence[int]) -> None:
    """Open a short-lived connection and declare the whole topology."""
    from kombu import Connection

    with Connection(amqp_uri, connect_timeout=5) as connection:
        connection.ensure_connection(max_retries=3)
        topology.declare(connection, retry_delays_ms)
