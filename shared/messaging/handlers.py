"""The message entrypoints of every service: `handle_event` and `handle_command`.

Each decorator states what its handler consumes, and that statement is the topology: the
handler's queue, named after the service, and its bindings are computed from it
(`HandlerSpec`), declared by the service as its container starts (`ServiceTopology`), and
listed for the deploy step and the tools by `tools.topology`. Adding a consumer is one
decorated method; there is no table to edit.

    @handle_event("allocation", "round_opened")
        queue registration.on.allocation.round_opened
    @handle_event("allocation", "seat_offered", "offer_expired", queue="outcomes", batch=200)
        queue registration.on.outcomes, bound to both events
    @handle_command("submit_application", batch=200, with_events=[("allocation", "round_closed")])
        queue registration.submit_application, bound to the command and the event

With `batch=N` the handler takes a list of up to N bodies (what arrived within `wait`
seconds): one transaction per batch instead of one per message. A batch is acked only after
its handler returned (and so committed); if it fails, each of its messages is tried again on
its own, so one bad message cannot take good ones down with it. A lone failure is retried
with backoff, then dead-lettered (`shared.messaging.failures`). The broker hands over at
most `max_workers` unacked messages (nameko's prefetch), so a service using batches sets
`max_workers` to at least N.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

import eventlet
from kombu import Queue
from kombu.message import Message as KombuMessage
from nameko.containers import WorkerContext
from nameko.exceptions import ContainerBeingKilled
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR, SharedExtension
from nameko.messaging import Consumer

from shared import topology
from shared.messaging.bus import CONNECTION_LOST, declare_queues, retry_delays
from shared.messaging.failures import FailureRouter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HandlerSpec:
    """What one handler consumes: its queue is `<service>.<suffix>`, bound to `command` (if
    any) on the commands exchange and to each `(source, event type)` on the events exchange."""

    suffix: str
    events: tuple[tuple[str, str], ...] = ()
    command: str | None = None

    def queue_name(self, service: str) -> str:
        """The queue's name in `service`."""
        return f"{service}.{self.suffix}"

    def bindings(self, service: str) -> tuple[topology.Binding, ...]:
        """Every binding the queue has, the command's first."""
        events = tuple(topology.event_binding(source, kind) for source, kind in self.events)
        if self.command is None:
            return events
        key = topology.command_queue_name(service, self.command)  # the queue's own name
        return (topology.Binding(topology.COMMANDS.name, key), *events)

    def queue(self, service: str, settings: topology.QueueSettings) -> Queue:
        """The durable kombu queue, with its bindings and the deployment's arguments."""
        return topology.work_queue(self.queue_name(service), self.bindings(service), settings)


class ServiceTopology(SharedExtension):
    """Declares, once per container before its entrypoints start, the exchanges, the queues
    of the service's own handlers (and their dead-letter queues) and the delay queues."""

    def setup(self) -> None:
        config = self.container.config
        settings = topology.queue_settings(config)
        service = self.container.service_name
        work = [spec.queue(service, settings) for spec in container_specs(self.container)]
        declare_queues(config["AMQP_URI"], work, retry_delays(config), settings)


class MessageHandler(Consumer):
    """Consumes one handler's queue, one body or a batch at a time; never acks a failure
    before it is parked."""

    topology = ServiceTopology()
    failures = FailureRouter()

    def __init__(self, spec: HandlerSpec, batch: int = 0, wait: float = 0.05, **kwargs: Any):
        self.spec, self.batch, self.wait = spec, batch, wait
        super().__init__(queue=None, requeue_on_error=False, **kwargs)

    def setup(self) -> None:
        settings = topology.queue_settings(self.container.config)
        self.queue = self.spec.queue(self.container.service_name, settings)
        self._pending: list[tuple[Any, KombuMessage]] = []
        self._timer: Any = None
        # Received and not yet settled: the broker counts these as unacked, not as ready.
        self.held = 0
        super().setup()

    def handle_message(self, body: Any, message: KombuMessage) -> None:
        self.held += 1
        if not self.batch:
            super().handle_message(body, message)
            return
        self._pending.append((body, message))
        if len(self._pending) >= self.batch:
            self._flush()
        elif self._timer is None:
            self._timer = eventlet.spawn_after(self.wait, self._flush)

    def stop(self) -> None:
        # Whatever is still buffered was never acked: the broker gives it to someone else.
        if self._timer is not None:
            self._timer.cancel()
        super().stop()

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
        self.held -= 1
        try:
            action(message)
        except CONNECTION_LOST as exc:
            log.warning(
                "could not settle a message from %s (connection lost): %r", self.queue.name, exc
            )

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, []
        if batch:
            bodies = [body for body, _ in batch]
            self._spawn(bodies, partial(self._batch_done, [m for _, m in batch]))

    def _spawn(self, bodies: list[Any], handle_result: Any) -> None:
        try:
            self.container.spawn_worker(self, (bodies,), {}, handle_result=handle_result)
        except ContainerBeingKilled:
            pass  # not acked: the broker redelivers them

    def _batch_done(
        self,
        messages: list[KombuMessage],
        worker_ctx: WorkerContext,
        result: Any = None,
        exc_info: Any = None,
    ) -> tuple[Any, Any]:
        if exc_info is None:
            for message in messages:
                self._settle(self.queue_consumer.ack_message, message)
        elif len(messages) == 1:
            self.handle_message_processed(messages[0], result, exc_info)
        else:
            log.warning(
                "batch of %d from %s failed (%s); trying each on its own",
                len(messages),
                self.queue.name,
                type(exc_info[1]).__name__,
            )
            for message in messages:
                self._spawn([message.payload], partial(self._batch_done, [message]))
        return result, exc_info


def handle_event(
    source: str, *event_types: str, queue: str | None = None, batch: int = 0, wait: float = 0.05
) -> Any:
    """Decorate a handler of `source`'s events: one type has its own queue
    (`<service>.on.<source>.<type>`); several share the queue `<service>.on.<queue>`."""
    if not event_types or (len(event_types) > 1 and queue is None):
        raise TypeError("handle_event takes one event type, or several and queue=<group name>")
    suffix = f"on.{queue}" if queue else f"on.{source}.{event_types[0]}"
    spec = HandlerSpec(suffix, events=tuple((source, kind) for kind in event_types))
    # By keyword: nameko takes a lone positional callable for the decorated method itself.
    return MessageHandler.decorator(spec=spec, batch=batch, wait=wait)


def handle_command(
    command: str,
    *,
    batch: int = 0,
    wait: float = 0.05,
    with_events: Iterable[tuple[str, str]] = (),
) -> Any:
    """Decorate the handler of a command sent to this service (queue `<service>.<command>`);
    `with_events` are `(source, event type)` pairs that travel in the same queue, in order
    with the commands."""
    spec = HandlerSpec(command, events=tuple(with_events), command=command)
    return MessageHandler.decorator(spec=spec, batch=batch, wait=wait)


def held_messages(container: Any, queue_name: str) -> int:
    """Messages of `queue_name` a running container has taken and not yet settled (waiting
    for their batch to fill, or being handled): a queue's ready count leaves them out."""
    return sum(
        entrypoint.held
        for entrypoint in container.entrypoints
        if isinstance(entrypoint, MessageHandler) and entrypoint.queue.name == queue_name
    )


def container_specs(container: Any) -> list[HandlerSpec]:
    """The specs of a running container's handlers."""
    return [e.spec for e in container.entrypoints if isinstance(e, MessageHandler)]


def handler_specs(service_cls: type) -> dict[str, HandlerSpec]:
    """The specs of a service class's handlers, by method name (mixins' included)."""
    return {
        name: entrypoint.spec
        for name, method in inspect.getmembers(service_cls, inspect.isfunction)
        for entrypoint in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ())
        if isinstance(entrypoint, MessageHandler)
    }
