"""What the gateway talks to: the broker (commands) and the services (RPC), with small caches."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from nameko.amqp.publish import UndeliverableMessage

from gateway.rpc import RpcPool
from shared.messaging.bus import MessageBus, declare_topology, retry_delays

SERVICES = ("registration", "allocation", "notification")


class TtlCache:
    """Remembers one value for `ttl` seconds, so hot paths do not ask a service every time."""

    def __init__(self, ttl: float, load: Callable[[], Any]) -> None:
        self._ttl, self._load = ttl, load
        self._value: Any = None
        self._expires = 0.0
        self._lock = threading.Lock()

    def get(self) -> Any:
        with self._lock:
            if time.monotonic() >= self._expires:
                self._value = self._load()
                self._expires = time.monotonic() + self._ttl
            return self._value


class Backends:
    """One per gateway worker: a producer pool (kombu's) and an RPC proxy pool."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.reference_secret: str = config["REFERENCE_SECRET"]
        # A submission fails fast to a 503 when the broker is away: one quick retry only.
        self.bus = MessageBus(config["AMQP_URI"], max_retries=1)
        self.rpc = RpcPool(
            {"AMQP_URI": config["AMQP_URI"]},
            size=int(config["RPC_POOL_SIZE"]),
            timeout=float(config["RPC_TIMEOUT_SECONDS"]),
        )
        self._open_rounds = TtlCache(float(config["ROUND_CACHE_SECONDS"]), self._load_open_rounds)

    def open_rounds(self) -> list[dict[str, Any]]:
        """Rounds accepting applications, as allocation said at most a few seconds ago."""
        return self._open_rounds.get()

    def open_round(self, round_id: str) -> dict[str, Any] | None:
        """The open round with that id, if any."""
        return next((r for r in self.open_rounds() if r["round_id"] == round_id), None)

    def send_command(self, service: str, envelope: dict[str, Any]) -> None:
        """Publish durably and wait for the confirm; declare the topology if it is missing."""
        try:
            self.bus.send_command(service, envelope)
        except UndeliverableMessage:
            declare_topology(self.config["AMQP_URI"], retry_delays(self.config))
            self.bus.send_command(service, envelope)

    def service_health(self) -> dict[str, str]:
        """Each service's answer to `health`, or why it did not answer."""
        states = {}
        for service in SERVICES:
            try:
                with self.rpc.cluster() as rpc:
                    states[service] = rpc[service].health()["database"]
            except Exception as exc:  # readiness reports, it does not raise
                states[service] = f"unavailable ({type(exc).__name__})"
        return states

    def _load_open_rounds(self) -> list[dict[str, Any]]:
        with self.rpc.cluster() as rpc:
            return rpc.allocation.list_open_rounds()
