"""nameko dependencies of the registration service: the register adapter and the backlog gauge."""

from __future__ import annotations

from typing import Any

from kombu import Connection
from nameko.containers import WorkerContext
from nameko.extensions import DependencyProvider
from sqlalchemy.orm import Session

from services.registration.register import PopulationRegister, SqlPopulationRegister
from shared import topology
from shared.db.dependency import Engines


class Register(DependencyProvider):
    """The population register (REGISTER_BACKEND; `sql` reads the imported copy).

    Lookups use their own read-only session, so a national register adapter could take its
    place without touching the worker's transaction.
    """

    engines = Engines()

    def setup(self) -> None:
        backend = self.container.config.get("REGISTER_BACKEND", "sql")
        if backend != "sql":
            raise ValueError(f"unknown REGISTER_BACKEND {backend!r}")
        self._sessions: dict[WorkerContext, Session] = {}

    def get_dependency(self, worker_ctx: WorkerContext) -> PopulationRegister:
        session = Session(self.engines.engine)
        self._sessions[worker_ctx] = session
        return SqlPopulationRegister(session)

    def worker_teardown(self, worker_ctx: WorkerContext) -> None:
        session = self._sessions.pop(worker_ctx, None)
        if session is not None:
            session.close()


class Backlog(DependencyProvider):
    """How many submissions wait on the broker for this service to take them."""

    def setup(self) -> None:
        self.amqp_uri = self.container.config["AMQP_URI"]

    def get_dependency(self, worker_ctx: WorkerContext) -> Any:
        def depth() -> int:
            queue = topology.command_queue("registration", "submit_application")
            with Connection(self.amqp_uri, connect_timeout=5) as connection:
                declared = queue(connection.default_channel).queue_declare(passive=True)
            return int(declared.message_count)

        return depth
