"""Prometheus metrics of the gateway, served at /metrics.

Under gunicorn every worker is its own process: gunicorn.conf.py sets
`PROMETHEUS_MULTIPROC_DIR`, each worker writes its samples there, and /metrics (served by
any worker) adds them up. Without that variable (tests, a single process) the app's own
registry is exposed. Routes are labelled by their rule (`/api/v1/applications/<reference>`),
never by the path, so a reference does not become a series.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def multiprocess_dir() -> str | None:
    """The directory gunicorn.conf.py made for the workers' samples, if any."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class Metrics:
    """The gateway's series, registered in a registry of their own (one per app)."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._answered: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        r = self.registry
        self.requests = Counter(
            "gateway_http_requests",
            "HTTP requests answered, by route, method and status.",
            ["route", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "gateway_http_request_duration_seconds",
            "Time to answer, by route and method.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.publish_confirms = Counter(
            "gateway_publish_confirms",
            "Commands the broker confirmed, by command.",
            ["command"],
            registry=r,
        )
        self.publish_failures = Counter(
            "gateway_publish_failures",
            "Commands not confirmed (broker unreachable, unroutable), by command.",
            ["command"],
            registry=r,
        )
        self.rate_limited = Counter(
            "gateway_rate_limited",
            "Requests answered 429, by limit.",
            ["limit"],
            registry=r,
        )
        self.overloaded = Counter(
            "gateway_overloaded",
            "Requests answered 503, by reason (backlog: backpressure; unavailable: a backend).",
            ["reason"],
            registry=r,
        )
        self.backlog = Gauge(
            "gateway_registration_backlog",
            "Submissions waiting in registration's queue, as this worker last read it.",
            registry=r,
            multiprocess_mode="livemax",
        )
        self.audit_failures = Counter(
            "gateway_audit_failures",
            "Audit entries the database did not take.",
            registry=r,
        )

    def answered(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count and time one answer. Each series' child is looked up once per worker, not
        per request (`labels()` sorts, checks and locks on every call)."""
        key = (route, method, status)
        children = self._answered.get(key)
        if children is None:  # routes are rules, never paths: a bounded set
            children = (
                self.requests.labels(route=route, method=method, status=str(status)),
                self.latency.labels(route=route, method=method),
            )
            self._answered[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def exposition(self) -> bytes:
        """The text format of every series: all workers' if multiprocess, else this app's."""
        directory = multiprocess_dir()
        if directory is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry, path=directory)
        return generate_latest(registry)
