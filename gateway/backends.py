"""What the gateway talks to: the broker (commands) and the services (RPC), with small caches."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from cachetools import LRUCache
from flask import Flask, current_app
from nameko.amqp.publish import UndeliverableMessage

from gateway.backlog import BacklogGauge
from gateway.commands import GroupedCommands
from gateway.livefigures import FailFast
from gateway.rpc import RpcPool
from gateway.windows import RoundWindows, inside
from shared import topology
from shared.contracts.common import LEVELS
from shared.messaging.bus import declare_queues, retry_delays

log = logging.getLogger(__name__)
SERVICES = ("registration", "allocation", "notification", "estimator")
# The key of the worker's Backends in `app.extensions` (tests reach it by this key too);
# the gateway's own code asks `current_backends()` or `backends_of(app)`.
EXTENSION = "tuyensinh"


def current_backends() -> Backends:
    """The Backends of the app handling this request (one per gateway worker)."""
    return backends_of(current_app)


def allocation(method: str, *args: Any, **kwargs: Any) -> Any:
    """One of the allocation service's RPCs, through this worker's proxy pool; its declared
    errors answer through gateway.errors.REMOTE_ERRORS."""
    return current_backends().call("allocation", method, *args, **kwargs)


def backends_of(app: Flask) -> Backends:
    """The Backends an app was built with (gateway.app.create_app installs them)."""
    backends: Backends = app.extensions[EXTENSION]
    return backends


class LookupCache:
    """Keeps answers of public lookups for `ttl` seconds, so the opening-morning crowd asking
    for the same wards and rounds does not turn into one RPC per page view.

    One caller per key loads a missing answer; the others asking meanwhile wait for it
    instead of each making the same call. Once an answer is older than `ttl`, one caller
    refreshes it while the others keep getting the last answer, for up to `stale` seconds:
    at the peak the services are busy draining the queue, an RPC can take a second, and
    every lookup would otherwise wait for it each time its answer expires. (Rounds have
    their own, stricter cache: gateway/windows.py.)
    A refresh that fails leaves the last answer in place until `stale`; errors are not cached.
    """

    def __init__(self, ttl: float, maxsize: int = 4096, stale: float | None = None) -> None:
        self._ttl = ttl
        self._stale = stale if stale is not None else 12 * ttl
        self._entries: LRUCache[Hashable, tuple[Any, float]] = LRUCache(maxsize=maxsize)
        self._lock = threading.Lock()
        self._loading: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        """The cached answer for `key`, or `load()`'s."""
        with self._lock:
            entry = self._entries.get(key)
            loading = self._loading.setdefault(key, threading.Lock())
        if entry is not None:
            value, age = entry[0], time.monotonic() - entry[1]
            if age < self._ttl:
                return value
            if age < self._stale:
                if not loading.acquire(blocking=False):
                    return value  # another caller is refreshing it
                try:
                    return self._load(key, load)
                except Exception as exc:
                    log.warning("lookup refresh failed (%s): serving the last answer", exc)
                    return value
                finally:
                    loading.release()
        # Outside the cache lock: one slow service call must not hold up other keys.
        with loading:
            with self._lock:
                entry = self._entries.get(key)
            if entry is not None and time.monotonic() - entry[1] < self._ttl:
                return entry[0]  # loaded by whoever held `loading` before us
            return self._load(key, load)

    def _load(self, key: Hashable, load: Callable[[], Any]) -> Any:
        value = load()
        with self._lock:
            self._entries[key] = (value, time.monotonic())
            self._loading.pop(key, None)
        return value


class Backends:
    """One per gateway worker: a producer pool (kombu's), an RPC proxy pool, and the cached
    depth of registration's backlog."""

    def __init__(self, config: dict[str, Any], metrics: Any = None) -> None:
        self.config = config
        self.metrics = metrics
        self.reference_secret: str = config["REFERENCE_SECRET"]
        # A command rides out a broker node's restart behind HAProxy (three more attempts,
        # 0, 0.5 and 1 s apart, on a fresh connection) and is a 503 within ~2 s when the
        # broker is away. With one quick retry, scenario 13 (nodes killed in turn under
        # load) answered 550 of 10,050 submissions 503, each lost connection failing its
        # whole batch; the one-at-a-time publish before it, 25.
        self.commands = GroupedCommands(config["AMQP_URI"], retries=3)
        self.rpc = RpcPool(
            {"AMQP_URI": config["AMQP_URI"]},
            size=int(config["RPC_POOL_SIZE"]),
            timeout=float(config["RPC_TIMEOUT_SECONDS"]),
        )
        # Live figures (demand, chances) decorate public pages: a short timeout, and a
        # failure remembered for a while (gateway/livefigures.py).
        self.live = FailFast(
            RpcPool(
                {"AMQP_URI": config["AMQP_URI"]},
                size=int(config.get("LIVE_FIGURES_POOL_SIZE", 4)),
                timeout=float(config.get("LIVE_FIGURES_TIMEOUT_SECONDS", 2)),
            ),
            pause=float(config.get("LIVE_FIGURES_PAUSE_SECONDS", 30)),
        )
        self._live = LookupCache(float(config.get("LIVE_FIGURES_CACHE_SECONDS", 60)))
        self.windows = RoundWindows(
            self._load_open_rounds,
            ttl=float(config["ROUND_CACHE_SECONDS"]),
            max_age=float(config["ROUND_VIEW_MAX_SECONDS"]),
        )
        self._schools = LookupCache(float(config.get("SCHOOL_CACHE_SECONDS", 60)))
        self.backlog = BacklogGauge(
            config["AMQP_URI"],
            limit=int(config.get("BACKLOG_LIMIT", 50000)),
            refresh_seconds=float(config.get("BACKLOG_REFRESH_SECONDS", 1.0)),
            metrics=metrics,
        )

    def open_rounds(self) -> list[dict[str, Any]]:
        """Rounds accepting applications now (their windows as allocation said at most
        ROUND_VIEW_MAX_SECONDS ago, judged by this machine's clock)."""
        now = datetime.now(UTC)
        return [r for r in self.windows.rounds() if inside(r, now)]

    def open_round(self, round_id: str, at: datetime | None = None) -> dict[str, Any] | None:
        """The round if it accepts a submission stamped `at` (default now), else None."""
        return self.windows.accepting(round_id, at or datetime.now(UTC))

    def schools(self, level: str) -> list[dict[str, Any]]:
        """Schools of a level, from the allocation service, cached for a minute."""
        return self._schools.get(
            ("schools", level), lambda: self.call("allocation", "list_schools", level)
        )

    def school_levels(self) -> dict[str, str]:
        """Every school's code -> level (the whole directory), cached as `schools` is."""
        levels: dict[str, str] = self._schools.get("levels", self._load_school_levels)
        return levels

    def catchment(self, ward: str, level: str) -> dict[str, Any]:
        """The schools serving a ward, from the allocation service, cached for a minute."""
        return self._schools.get(
            ("catchment", ward, level), lambda: self.call("allocation", "catchment", ward, level)
        )

    def finder(self, ward: str, level: str) -> dict[str, Any]:
        """The school finder's answer, from the allocation service, cached as `catchment` is."""
        return self._schools.get(
            ("finder", ward, level), lambda: self.call("allocation", "find_schools", ward, level)
        )

    def demand(self, round_id: str) -> dict[str, Any] | None:
        """An open round's live demand (k-anonymous), cached for LIVE_FIGURES_CACHE_SECONDS;
        FiguresUnavailable at once if it is late or failed lately (gateway/livefigures.py)."""
        return self._live.get(
            ("demand", round_id), lambda: self.live.call("allocation", "demand", round_id)
        )

    def school_chances(self, round_id: str) -> dict[str, Any] | None:
        """An open round's chances per school and tier group, cached as `demand` is."""
        load = partial(self.live.call, "allocation", "school_estimates", round_id)
        return self._live.get(("chances", round_id), load)

    def send_command(self, service: str, envelope: dict[str, Any]) -> None:
        """Publish durably and wait for the confirm (grouped with the commands of requests
        arriving together: gateway.commands); declare the command's queue if it is missing
        (the consumer adds its other bindings as it starts)."""
        exchange = topology.COMMANDS.name
        queue = topology.command_queue_name(service, envelope["type"])
        try:
            try:
                self.commands.send(exchange, queue, envelope)
            except UndeliverableMessage:
                settings = topology.queue_settings(self.config)
                declared = topology.command_queue(service, envelope["type"], settings)
                delays = retry_delays(self.config)
                declare_queues(self.config["AMQP_URI"], [declared], delays, settings)
                self.commands.send(exchange, queue, envelope)
        except Exception:
            if self.metrics is not None:
                self.metrics.publish_failures.labels(command=envelope["type"]).inc()
            raise
        if self.metrics is not None:
            self.metrics.publish_confirms.labels(command=envelope["type"]).inc()

    def send_code(self, phone: str, language: str, code: str, valid_minutes: int) -> None:
        """Have the notification service text a one-time code (it applies per-phone limits)."""
        self.call("notification", "send_otp", phone, language, code, valid_minutes)

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

    def _load_school_levels(self) -> dict[str, str]:
        return {s["code"]: s["level"] for level in LEVELS for s in self.schools(level)}

    def _load_open_rounds(self) -> list[dict[str, Any]]:
        return self.call("allocation", "list_open_rounds")

    def call(self, service: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """One RPC of a service, through the worker's proxy pool."""
        with self.rpc.cluster() as rpc:
            return getattr(rpc[service], method)(*args, **kwargs)
