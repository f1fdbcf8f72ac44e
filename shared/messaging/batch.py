"""A consumer that hands its handler messages in batches, for high-volume queues.

One transaction per batch instead of one per message is what lets registration drain an
opening-morning backlog at thousands a second. The guarantees stay those of
`ReliableConsumer`: a batch is acked only after its handler returned (and so committed).
If a batch fails, each of its messages is tried again on its own, so one bad message cannot
take good ones down with it; a lone failure is retried with backoff, then dead-lettered.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import eventlet
from kombu.message import Message as KombuMessage
from nameko.containers import WorkerContext
from nameko.exceptions import ContainerBeingKilled

from shared import topology
from shared.messaging.entrypoints import ReliableConsumer

log = logging.getLogger(__name__)


class BatchConsumer(ReliableConsumer):
    """Collects up to `size` messages, or what arrived within `wait` seconds, per worker.

    The broker hands over at most `max_workers` unacked messages (nameko's prefetch), so a
    service using batches sets `max_workers` to at least `size`.
    """

    def __init__(self, queue_for: Any, size: int = 200, wait: float = 0.05, **kwargs: Any):
        self.size, self.wait = size, wait
        super().__init__(queue_for, **kwargs)

    def setup(self) -> None:
        self._pending: list[tuple[Any, KombuMessage]] = []
        self._timer: Any = None
        super().setup()

    def handle_message(self, body: Any, message: KombuMessage) -> None:
        self._pending.append((body, message))
        if len(self._pending) >= self.size:
            self._flush()
        elif self._timer is None:
            self._timer = eventlet.spawn_after(self.wait, self._flush)

    def stop(self) -> None:
        # Whatever is still buffered was never acked: the broker gives it to someone else.
        if self._timer is not None:
            self._timer.cancel()
        super().stop()

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


def handle_command_batch(command: str, size: int = 200, wait: float = 0.05) -> Any:
    """Decorate the handler of a command that takes a list of message bodies."""
    return BatchConsumer.decorator(
        queue_for=lambda service, settings: topology.command_queue(service, command, settings),
        size=size,
        wait=wait,
    )


def handle_event_batch(source: str, event_type: str, size: int = 200, wait: float = 0.05) -> Any:
    """Decorate the handler of one event type (see shared.topology) that takes a list of bodies."""
    return BatchConsumer.decorator(
        queue_for=lambda service, settings: topology.event_queue(
            service, source, event_type, settings
        ),
        size=size,
        wait=wait,
    )
