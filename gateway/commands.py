"""Commands of requests arriving together, published on one channel with one wait for all
their confirms; each request still answers only once the broker confirmed its own message.

A confirmed publish one at a time costs a worker a round trip and its wake-ups per request,
plus kombu's and nameko's layers around it (get a producer, build a connection object,
`ensure`): under P1 that was a third of each 202's CPU (py-spy), the largest single part.
Here the first caller leads (gateway.groupcommit.GroupCommit, as the claims are written):
it publishes every waiting command on a channel of its own (shared.messaging.bus.
PipelinedPublisher), waits once for all their confirms, and hands each caller its own
outcome: confirmed, returned unroutable (`UndeliverableMessage`: its queue is declared and
it is sent again), or refused (`MessageRefused`, a 503). A lone request is published at
once; nothing waits for a timer.

A lost connection fails the batch's callers only after `retries` more attempts on a fresh
connection (the batch is published again whole: a consumer takes a message it already has
once, by its event id). Up to `leaders` batches are in flight at once, each on its own
channel.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

from gateway.groupcommit import GroupCommit
from shared.messaging.bus import CONNECTION_LOST, PipelinedPublisher

Command = tuple[str, str, Mapping[str, Any]]  # exchange, routing key, envelope


class GroupedCommands:
    """`send(exchange, routing_key, envelope)`: returns once the broker confirmed it."""

    def __init__(
        self, amqp_uri: str, *, leaders: int = 4, max_batch: int = 200, retries: int = 1
    ) -> None:
        self.amqp_uri, self.retries = amqp_uri, retries
        self._idle: list[PipelinedPublisher] = []
        self._lock = threading.Lock()
        self._group: GroupCommit[Command, Exception | None] = GroupCommit(
            self._publish, max_batch, leaders
        )

    def send(self, exchange: str, routing_key: str, envelope: Mapping[str, Any]) -> None:
        """Publish persistently and mandatorily; raise unless the broker confirmed it."""
        outcome = self._group((exchange, routing_key, envelope))
        if outcome is not None:
            raise outcome

    def close(self) -> None:
        """Drop every idle channel's connection (worker exit, test teardown)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for publisher in idle:
            publisher.close()

    def _publish(self, batch: list[Command]) -> list[Exception | None]:
        with self._lock:
            publisher = self._idle.pop() if self._idle else PipelinedPublisher(self.amqp_uri)
        try:
            messages = [(exchange, key, envelope, True) for exchange, key, envelope in batch]
            attempt = 0
            while True:
                try:
                    return publisher.publish_each(messages)
                except CONNECTION_LOST:  # dropped, and reopened by the next attempt
                    if attempt >= self.retries:
                        raise
                    time.sleep(min(0.5 * attempt, 2.0))
                    attempt += 1
        finally:
            with self._lock:
                self._idle.append(publisher)
