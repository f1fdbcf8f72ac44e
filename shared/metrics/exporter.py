"""The per-process metrics endpoint of a nameko service, and the gauges it polls.

`MetricsExporter` is a shared extension of `shared.db.dependency.Database`, which every
service has: it serves prometheus_client's registry over HTTP on `METRICS_HOST:METRICS_PORT`
(config.yml; an empty port or 0 turns it off), times every worker through the database's
worker hooks, and every `METRICS_POLL_SECONDS` reads what a counter cannot know: the depth
and consumers of work queues and their dead-letter queues, and the outbox's backlog.

The queues are the service's own (from its handlers) and, where the endpoint is served,
every other service's too, so that a queue whose own service is down is still seen (the
QueueWithoutConsumer alert). The services do not import one another, so that list comes
once, at the first poll, from the deploy tool in a child process (`tools.topology --list`);
if it cannot be had, the service reports its own queues only.

Nothing starts at import: the server and the poller start with the container. A port
already taken is logged as an error and the service runs on without its endpoint
(Prometheus then reports the target down), rather than refusing to take work.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from datetime import UTC
from typing import Any

import eventlet
import eventlet.wsgi
from amqp.exceptions import NotFound
from eventlet.event import Event
from eventlet.green import subprocess
from kombu import Connection
from nameko.containers import WorkerContext
from nameko.extensions import SharedExtension
from prometheus_client import make_wsgi_app
from sqlalchemy import Engine, func, select

from shared import topology
from shared.db.tables import outbox
from shared.messaging.handlers import container_specs
from shared.metrics.series import (
    DEAD_LETTER_MESSAGES,
    HANDLER_DURATION,
    HANDLER_FAILURES,
    OUTBOX_OLDEST_AGE,
    OUTBOX_ROWS,
    POLL_FAILURES,
    QUEUE_CONSUMERS,
    QUEUE_MESSAGES,
)

log = logging.getLogger(__name__)


class MetricsExporter(SharedExtension):
    """Serves /metrics for the container and keeps the polled gauges current."""

    def setup(self) -> None:
        config = self.container.config
        self.host = str(config.get("METRICS_HOST") or "127.0.0.1")
        self.port = int(config.get("METRICS_PORT") or 0)
        self.poll_seconds = float(config.get("METRICS_POLL_SECONDS", 5.0))
        self.amqp_uri = config["AMQP_URI"]
        self.queues: list[str] = []
        self._engine: Callable[[], Engine] | None = None
        self._started: dict[WorkerContext, float] = {}
        self._socket: Any = None
        self._server: Any = None
        self._stopped = Event()

    def watch_outbox(self, engine: Callable[[], Engine]) -> None:
        """Poll the outbox of the database `engine()` returns."""
        self._engine = engine

    def start(self) -> None:
        service = self.container.service_name
        self.queues = [spec.queue_name(service) for spec in container_specs(self.container)]
        if self.port:
            try:
                self._socket = eventlet.listen((self.host, self.port))
            except OSError as exc:
                log.error("metrics endpoint %s:%s not served: %r", self.host, self.port, exc)
            else:
                self._server = self.container.spawn_managed_thread(
                    self._serve, identifier="metrics-http"
                )
        self.container.spawn_managed_thread(self._poll, identifier="metrics-poll")

    def stop(self) -> None:
        if not self._stopped.ready():
            self._stopped.send(True)
        if self._server is not None:
            self._server.kill()  # eventlet's server does not notice its socket closing
            self._server = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    kill = stop

    def worker_started(self, worker_ctx: WorkerContext) -> None:
        """Note when a worker began (from the database's `worker_setup`)."""
        self._started[worker_ctx] = time.perf_counter()

    def worker_finished(self, worker_ctx: WorkerContext, exc_info: Any) -> None:
        """Record the worker's time and, if it raised, its exception class."""
        started = self._started.pop(worker_ctx, None)
        entrypoint = worker_ctx.entrypoint.method_name
        if started is not None:
            HANDLER_DURATION.labels(entrypoint).observe(time.perf_counter() - started)
        if exc_info is not None:
            HANDLER_FAILURES.labels(entrypoint, type(exc_info[1]).__name__).inc()

    def _serve(self) -> None:
        app = make_wsgi_app()
        try:
            eventlet.wsgi.server(self._socket, app, log_output=False)
        except (OSError, ValueError):
            pass  # the socket was closed: the container is stopping

    def _poll(self) -> None:
        # The first poll waits too: a (re)starting service takes its redeliveries first.
        learnt = not self.port
        while True:
            with eventlet.Timeout(self.poll_seconds, False):
                self._stopped.wait()
            if self._stopped.ready():
                return
            if not learnt:
                self.queues = sorted({*self.queues, *every_work_queue()})
                learnt = True
            poll_once(self.amqp_uri, self._engine() if self._engine else None, self.queues)


def every_work_queue() -> list[str]:
    """Every service's work queues, from `python -m tools.topology --list`; [] on failure."""
    command = [sys.executable, "-m", "tools.topology", "--list"]
    try:
        # eventlet's Popen: the service's other green threads run while the child works.
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        listed, status = child.stdout.read().decode(), child.wait()
    except OSError as exc:
        status, listed = -1, repr(exc)
    if status != 0:
        log.warning("other services' queues unknown (%s); reporting this one's only", status)
        return []
    return [line.split()[0] for line in listed.splitlines() if line.strip()]


def poll_once(amqp_uri: str, engine: Engine | None, queues: list[str]) -> None:
    """Refresh the queue and outbox gauges once; a failure is counted and logged, not raised."""
    try:
        poll_queues(amqp_uri, queues)
    except Exception as exc:
        POLL_FAILURES.labels("broker").inc()
        log.warning("could not poll the queues for metrics: %r", exc)
    if engine is not None:
        try:
            poll_outbox(engine)
        except Exception as exc:
            POLL_FAILURES.labels("database").inc()
            log.warning("could not poll the outbox for metrics: %r", exc)


def poll_queues(amqp_uri: str, queues: list[str]) -> None:
    """Depth and consumers of each work queue, and the depth of its dead-letter queue; a
    queue's owner (label `consumer_service`) is the service its name starts with."""
    with Connection(amqp_uri, connect_timeout=5) as connection:
        channel = connection.channel()
        for work in queues:
            owner = work.split(".", 1)[0]
            for name, gauges in (
                (work, (QUEUE_MESSAGES, QUEUE_CONSUMERS)),
                (topology.dead_letter_queue(work).name, (DEAD_LETTER_MESSAGES, None)),
            ):
                try:
                    _, messages, consumers = channel.queue_declare(name, passive=True)
                except NotFound:  # not declared yet on this vhost: nothing in it
                    messages, consumers = 0, 0
                    channel = connection.channel()  # the broker closed the old one
                depth, attached = gauges
                depth.labels(work, owner).set(messages)
                if attached is not None:
                    attached.labels(work, owner).set(consumers)
        channel.close()


def poll_outbox(engine: Engine) -> None:
    """How many events wait in the outbox, and how long the oldest has waited."""
    with engine.connect() as connection:
        query = select(func.count(), func.min(outbox.c.created_at))
        count, oldest = connection.execute(query.select_from(outbox)).one()
    OUTBOX_ROWS.set(count)
    if oldest is None:
        OUTBOX_OLDEST_AGE.set(0)
        return
    if oldest.tzinfo is None:  # SQLite hands back naive UTC
        oldest = oldest.replace(tzinfo=UTC)
    OUTBOX_OLDEST_AGE.set(max(0.0, time.time() - oldest.timestamp()))
