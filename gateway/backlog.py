"""Backpressure: how deep registration's submission queue is, read at most once a second.

A submission checks the cached depth, never the broker: the first request after the value
went stale refreshes it (one passive `queue_declare` on a pooled connection) while the
others keep using the old value. When the depth passes `BACKLOG_LIMIT` the gateway answers
503 + Retry-After at once, before validating more than the token, instead of queueing work
it already knows will wait too long. An unreadable depth does not block submissions: their
publish fails on its own (503) if the broker is really away.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import kombu.pools
from kombu import Connection

from shared import topology

log = logging.getLogger(__name__)


class BacklogGauge:
    """The cached depth of `registration.submit_application` for one worker."""

    def __init__(
        self,
        amqp_uri: str,
        limit: int,
        refresh_seconds: float = 1.0,
        metrics: Any = None,
    ) -> None:
        self.amqp_uri, self.limit, self.refresh_seconds = amqp_uri, limit, refresh_seconds
        self.queue = topology.command_queue_name("registration", "submit_application")
        self._metrics = metrics
        self._depth: int | None = None
        self._read_at = float("-inf")
        self._refreshing = threading.Lock()
        self.reads = 0  # broker round-trips so far (tests check the cache works)

    def depth(self) -> int | None:
        """The depth as last read; refreshed first if older than `refresh_seconds`."""
        if time.monotonic() - self._read_at >= self.refresh_seconds:
            # One refresher at a time; everyone else goes on with the value they have.
            if self._refreshing.acquire(blocking=False):
                try:
                    self._refresh()
                finally:
                    self._refreshing.release()
        return self._depth

    def overloaded(self) -> bool:
        """Whether submissions should be turned away for now."""
        depth = self.depth()
        return depth is not None and depth >= self.limit

    def _refresh(self) -> None:
        self._read_at = time.monotonic()
        self.reads += 1
        try:
            with kombu.pools.connections[Connection(self.amqp_uri)].acquire(
                block=True, timeout=2
            ) as connection:
                connection.ensure_connection(max_retries=1)
                with connection.channel() as channel:
                    _, depth, _ = channel.queue_declare(self.queue, passive=True)
        except Exception as exc:  # the queue is not declared yet, or the broker is away
            log.info("backlog depth unknown: %s", type(exc).__name__)
            self._depth = None
            return
        self._depth = int(depth)
        if self._metrics is not None:
            self._metrics.backlog.set(self._depth)


class SubmissionGate:
    """WSGI middleware: at most `limit` submissions in progress in one worker; the next one
    is answered 503 + Retry-After before anything else is done with it.

    The broker's backlog says registration is behind; this says the gateway itself is. A
    worker that takes every request it is sent, when the crowd arrives faster than it can
    confirm them, makes every one of them slow, until clients time out. The gate stands in
    front of Flask, so a refusal costs no token check, no Redis or database round trip and
    no wait behind the admitted requests: it is answered in milliseconds.
    """

    PATH = "/api/v1/applications"

    def __init__(self, app: Any, limit: int, retry_after: int, metrics: Any = None) -> None:
        self.app, self.limit, self.metrics = app, limit, metrics
        self._count = 0
        self._lock = threading.Lock()
        body = {
            "error": {
                "code": "busy",
                "message": "Many families are applying right now. Nothing was saved; please"
                f" try again in {retry_after} seconds.",
                "fields": {},
            }
        }
        self._refusal = json.dumps(body, ensure_ascii=False).encode()
        self._headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(self._refusal))),
            ("Retry-After", str(retry_after)),
        ]

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") != self.PATH:
            return self.app(environ, start_response)
        with self._lock:
            admitted = self._count < self.limit
            self._count += admitted
        if not admitted:
            if self.metrics is not None:
                self.metrics.overloaded.labels(reason="in_flight").inc()
            start_response("503 Service Unavailable", list(self._headers))
            return [self._refusal]
        try:
            # Flask builds the whole JSON answer before returning, so the slot is held
            # for the request's work, not for sending the answer.
            return self.app(environ, start_response)
        finally:
            with self._lock:
                self._count -= 1
