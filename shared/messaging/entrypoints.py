"""nameko entrypoints that never lose a message: ack, or retry with backoff, then dead-letter.

nameko 2.14 acks a message whose handler raised, so the work would vanish. These consumers
instead republish a failed message (confirmed) to a delay queue, and after the last retry to
the queue's dead-letter queue, and only then ack the original.

A handler that failed because its database was unreachable does not spend that budget: the
message is good, only the server is away (a restart, a failover). It is retried on the same
schedule, then every longest delay, until the database is back, up to `DB_OUTAGE_RETRIES`
times (default 120: about an hour at 30 s); past that cap it goes on to the ordinary budget
and, if the database is still away, to the dead-letter queue for an operator.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kombu import Queue
from kombu.message import Message as KombuMessage
from nameko.extensions import SharedExtension
from nameko.messaging import Consumer

from shared import topology
from shared.contracts.envelope import PoisonMessage
from shared.db.errors import database_unavailable
from shared.messaging.bus import (
    ATTEMPT_HEADER,
    CONNECTION_LOST,
    OUTAGE_HEADER,
    MessageBus,
    declare_topology,
    retry_delays,
)
from shared.metrics.series import MESSAGES_DEAD_LETTERED, MESSAGES_RETRIED

log = logging.getLogger(__name__)
DEFAULT_OUTAGE_RETRIES = 120
# Builds a consumer's queue from the service's name and the deployment's queue settings.
QueueFor = Callable[[str, topology.QueueSettings], Queue]


class Topology(SharedExtension):
    """Declares the broker topology once per container, before any entrypoint starts."""

    def setup(self) -> None:
        config = self.container.config
        declare_topology(config["AMQP_URI"], retry_delays(config), topology.queue_settings(config))


class FailureRouter(SharedExtension):
    """Decides where a failed message goes next: a delay queue, or the dead-letter queue."""

    def setup(self) -> None:
        config = self.container.config
        self.delays = retry_delays(config)
        self.outage_retries = int(config.get("DB_OUTAGE_RETRIES", DEFAULT_OUTAGE_RETRIES))
        self.bus = MessageBus(config["AMQP_URI"])

    def route(self, queue_name: str, message: KombuMessage, exc: BaseException) -> str:
        """Republish `message` for its next attempt or for an operator; returns where it went."""
        headers = message.headers or {}
        outages = int(headers.get(OUTAGE_HEADER, 0))
        if self.delays and outages < self.outage_retries and database_unavailable(exc):
            # Not an attempt: the attempt count stays, so the budget is whole afterwards.
            delay = self.delays[min(outages, len(self.delays) - 1)]
            self.bus.forward(
                message,
                exchange=topology.delay_exchange(delay),
                routing_key=queue_name,
                headers={OUTAGE_HEADER: outages + 1},
            )
            MESSAGES_RETRIED.labels(queue_name, "database_outage").inc()
            return f"database unavailable, retry in {delay} ms ({outages + 1} so far)"
        attempt = int(headers.get(ATTEMPT_HEADER, 0)) + 1
        retryable = not isinstance(exc, PoisonMessage)
        if retryable and attempt <= len(self.delays):
            delay = self.delays[attempt - 1]
            self.bus.forward(
                message,
                exchange=topology.delay_exchange(delay),
                routing_key=queue_name,
                headers={ATTEMPT_HEADER: attempt},
            )
            MESSAGES_RETRIED.labels(queue_name, "failure").inc()
            return f"retry {attempt} in {delay} ms"
        self.bus.forward(
            message,
            exchange=topology.DEAD_LETTERS,
            routing_key=queue_name,
            headers={
                ATTEMPT_HEADER: attempt,
                "x-tuyensinh-failure": f"{type(exc).__module__}.{type(exc).__qualname__}",
                # Only our own poison reasons are known to be free of personal data.
                "x-tuyensinh-detail": str(exc)[:300] if not retryable else "",
            },
        )
        MESSAGES_DEAD_LETTERED.labels(queue_name).inc()
        return "dead-lettered"


class ReliableConsumer(Consumer):
    """Consumes a queue from `shared.topology`; never acks a failure before it is parked."""

    topology = Topology()
    failures = FailureRouter()

    def __init__(self, queue_for: QueueFor, **kwargs: Any) -> None:
        self.queue_for = queue_for
        super().__init__(queue=None, requeue_on_error=False, **kwargs)

    def setup(self) -> None:
        settings = topology.queue_settings(self.container.config)
        self.queue = self.queue_for(self.container.service_name, settings)
        super().setup()

    def handle_message_processed(
        self, message: KombuMessage, result: Any = None, exc_info: Any = None
    ) -> None:
        if exc_info is not None:
            try:
                outcome = self.failures.route(self.queue.name, message, exc_info[1])
            except Exception:
                # The failure could not be parked; leave the message with the broker.
                log.exception("could not park failed message from %s; requeueing", self.queue.name)
                self._settle(self.queue_consumer.requeue_message, message)
                return
            log.warning(
                "message %s from %s failed (%s): %s",
                message.properties.get("message_id"),
                self.queue.name,
                type(exc_info[1]).__name__,
                outcome,
            )
        self._settle(self.queue_consumer.ack_message, message)

    def _settle(self, action: Callable[[KombuMessage], None], message: KombuMessage) -> None:
        """Ack or requeue; if the broker connection is gone, leave it: the broker redelivers
        every unacked message of a dead connection (the handlers are idempotent). nameko would
        otherwise let the error end the worker thread, and with it the whole service."""
        try:
            action(message)
        except CONNECTION_LOST as exc:
            log.warning(
                "could not settle a message from %s (connection lost): %r", self.queue.name, exc
            )


def handle_event(source: str, event_type: str) -> Any:
    """Decorate a handler of `source`'s `event_type` events (listed in shared.topology)."""
    # By keyword: nameko takes a lone positional callable for the decorated method itself.
    return ReliableConsumer.decorator(
        queue_for=lambda service, settings: topology.event_queue(
            service, source, event_type, settings
        )
    )


def handle_command(command: str) -> Any:
    """Decorate the handler of a command sent to this service (listed in shared.topology)."""
    return ReliableConsumer.decorator(
        queue_for=lambda service, settings: topology.command_queue(service, command, settings)
    )


def handle_event_group(group: str) -> Any:
    """Decorate the one handler of a group of events (listed in shared.topology.EVENT_GROUPS)."""
    return ReliableConsumer.decorator(
        queue_for=lambda service, settings: topology.group_queue(service, group, settings)
    )
