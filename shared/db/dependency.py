"""nameko dependencies: one engine per container, one session per worker, a relay per service."""

from __future__ import annotations

import logging
from typing import Any

import eventlet
from eventlet.event import Event
from nameko.containers import WorkerContext
from nameko.extensions import DependencyProvider, SharedExtension
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from shared.db.engine import build_engine
from shared.db.outbox import OUTBOX_DIRTY, relay_batch
from shared.messaging.bus import PipelinedPublisher
from shared.messaging.handlers import ServiceTopology
from shared.metrics.exporter import MetricsExporter

log = logging.getLogger(__name__)

RELAY_BATCH = 1000  # outbox rows published per pass (one transaction, one wait for confirms)


class Engines(SharedExtension):
    """The container's engine for its own database (config key `DB_URI`)."""

    engine: Engine

    def setup(self) -> None:
        config = self.container.config
        self.engine = build_engine(
            config["DB_URI"],
            green=True,
            pool_size=int(config.get("DB_POOL_SIZE", 10)),
            pre_ping=str(config.get("DB_PRE_PING", True)).lower() not in ("false", "0", "no"),
        )

    def kill(self) -> None:
        self.engine.dispose()

    def stop(self) -> None:
        self.engine.dispose()


class OutboxRelay(SharedExtension):
    """Publishes committed outbox rows: at once when a worker commits some, else on a poll."""

    engines = Engines()
    topology = ServiceTopology()

    def setup(self) -> None:
        config = self.container.config
        self.poll_seconds = float(config.get("OUTBOX_POLL_SECONDS", 1.0))
        self.publisher = PipelinedPublisher(config["AMQP_URI"])
        self._wake = Event()
        self._running = False

    def start(self) -> None:
        self._running = True
        self.container.spawn_managed_thread(self._run, identifier="outbox-relay")

    def stop(self) -> None:
        self._running = False
        self.kick()

    kill = stop

    def kick(self) -> None:
        """Wake the relay now (a worker has just committed events)."""
        if not self._wake.ready():
            self._wake.send(True)

    def _run(self) -> None:
        try:
            while self._running:
                # A fresh event before the pass: a kick that lands during it is not lost.
                self._wake = Event()
                try:
                    # Again only after a full batch: rows committed since this pass began
                    # come with a kick of their own, so a second pass to find none (a
                    # transaction and a checkout per kick) would be spent for nothing.
                    while (
                        relay_batch(self.engines.engine, self.publisher, RELAY_BATCH) >= RELAY_BATCH
                    ):
                        pass
                except Exception:
                    # Broker or database away: the rows stay put and the next pass retries.
                    log.exception("outbox relay pass failed")
                    eventlet.sleep(self.poll_seconds)
                with eventlet.Timeout(self.poll_seconds, False):
                    self._wake.wait()
        finally:
            self.publisher.close()


class Database(DependencyProvider):
    """Injects a SQLAlchemy session per worker; the worker commits, teardown closes.

    Every service has one, so it also carries the service's metrics endpoint: its worker
    hooks time every worker, whatever its entrypoint (see `shared.metrics.exporter`).
    """

    engines = Engines()
    relay = OutboxRelay()
    metrics = MetricsExporter()

    def setup(self) -> None:
        self._sessions: dict[WorkerContext, Session] = {}
        self._factory: sessionmaker[Session] | None = None
        self.metrics.watch_outbox(lambda: self.engines.engine)

    def worker_setup(self, worker_ctx: WorkerContext) -> None:
        self.metrics.worker_started(worker_ctx)

    def worker_result(
        self, worker_ctx: WorkerContext, result: Any = None, exc_info: Any = None
    ) -> None:
        self.metrics.worker_finished(worker_ctx, exc_info)

    def get_dependency(self, worker_ctx: WorkerContext) -> Session:
        if self._factory is None:  # sibling extensions set up in parallel; bind lazily
            self._factory = sessionmaker(bind=self.engines.engine, expire_on_commit=False)
        session = self._factory()
        self._sessions[worker_ctx] = session
        return session

    def worker_teardown(self, worker_ctx: WorkerContext) -> None:
        session = self._sessions.pop(worker_ctx, None)
        if session is None:
            return
        dirty = session.info.pop(OUTBOX_DIRTY, False)
        try:
            session.close()
        except SQLAlchemyError as exc:
            # The database went away under the worker (its rollback on close failed). nameko
            # would let this error end the whole service; drop the connection instead.
            log.warning("could not close a session (database unreachable): %r", exc)
            session.invalidate()
        if dirty:
            self.relay.kick()

    @property
    def engine(self) -> Any:
        """The engine, for CLIs and tests that run inside the container."""
        return self.engines.engine
