"""nameko dependencies of the registration service: the register adapter and the backlog gauge."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kombu import Connection
from nameko.containers import WorkerContext
from nameko.extensions import DependencyProvider
from sqlalchemy.orm import Session

from services.registration.register.adapter import PopulationRegister, SqlPopulationRegister
from shared import topology
from shared.messaging.handlers import held_messages

RegisterFactory = Callable[[Session], PopulationRegister]


class Register(DependencyProvider):
    """The population register adapter named by REGISTER_BACKEND (`sql`: the imported copy).

    It is handed the worker's own session: a second session would need a second connection,
    and the embedded SQLite default has one per process, so the two would wait on each other.
    """

    def setup(self) -> None:
        backend = self.container.config.get("REGISTER_BACKEND", "sql")
        if backend != "sql":
            raise ValueError(f"unknown REGISTER_BACKEND {backend!r}")

    def get_dependency(self, worker_ctx: WorkerContext) -> RegisterFactory:
        return SqlPopulationRegister


class Backlog(DependencyProvider):
    """How many submissions wait for this service: ready on the broker, or taken by this
    process and not yet stored (a batch fills for up to `SUBMISSION_WAIT_SECONDS`)."""

    def setup(self) -> None:
        self.amqp_uri = self.container.config["AMQP_URI"]

    def get_dependency(self, worker_ctx: WorkerContext) -> Any:
        def depth() -> int:
            queue = topology.command_queue("registration", "submit_application")
            held = held_messages(self.container, queue.name)
            with Connection(self.amqp_uri, connect_timeout=5) as connection:
                declared = queue(connection.default_channel).queue_declare(passive=True)
            return held + int(declared.message_count)

        return depth
