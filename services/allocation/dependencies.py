"""nameko extensions of the allocation service: the intake gauge and a timed RPC call."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import eventlet
from kombu import Connection, Queue
from nameko.containers import WorkerContext
from nameko.extensions import DependencyProvider

from shared import topology
from shared.messaging.bus import retry_delays
from shared.messaging.handlers import held_messages

log = logging.getLogger(__name__)


class ApplicationBacklog(DependencyProvider):
    """Counts application events allocation has not applied yet: ready in its queue, taken
    by this process but not yet applied (a batch fills for up to half a second), parked in
    its dead-letter queue, or waiting in a retry delay queue (shared by every service, so
    that count may include others' retries; it only makes a refusal more careful).

    The dependency is a callable returning the count, or None if the broker cannot say.
    """

    def setup(self) -> None:
        config = self.container.config
        self.amqp_uri = config["AMQP_URI"]
        # The queue of `handle_application_event` (`handle_event(..., queue="applications")`).
        work = Queue(f"{self.container.service_name}.on.applications")
        self.queues = [
            work,
            topology.dead_letter_queue(work.name),
            *(topology.delay_queue(delay) for delay in retry_delays(config)),
        ]

    def get_dependency(self, worker_ctx: WorkerContext) -> Callable[[], int | None]:
        return self.count

    def count(self) -> int | None:
        """Messages waiting in those queues right now."""
        held = held_messages(self.container, self.queues[0].name)
        try:
            with Connection(self.amqp_uri, connect_timeout=5) as connection:
                channel = connection.default_channel
                return held + sum(
                    int(queue(channel).queue_declare(passive=True).message_count)
                    for queue in self.queues
                )
        except Exception:
            log.exception("could not read the depth of allocation's application queues")
            return None


def call_with_timeout(method: Any, timeout: float, *args: Any) -> Any:
    """Call a nameko RPC method, giving up after `timeout` seconds; None if no answer.

    nameko 2.14's RPC proxies wait forever by default; a refusal must not hang on a service
    that is down, so the reply is awaited under an eventlet timeout.
    """
    try:
        reply = method.call_async(*args)
        with eventlet.Timeout(timeout):
            return reply.result()
    except (Exception, eventlet.Timeout):
        log.warning("no answer from %s within %ss", method, timeout)
        return None
