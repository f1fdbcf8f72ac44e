"""CPU time per tier of a running cluster (HAProxy, gateway replicas, services, RabbitMQ nodes)
over a stretch of a benchmark: the measured CPU-per-request figures the capacity model in
BENCHMARKS.md and the README is built from."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.environment import cpu_seconds, workers_of
from tests.support.processes import Processes
from tests.support.system import PROCESSES, RunningSystem
from tools.cluster import RabbitCluster


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it (a node's beam.smp under its start script, gunicorn's
    workers under their master); processes that are gone are left out."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        if not Path(f"/proc/{current}").exists():
            continue
        found.append(current)
        try:
            todo += workers_of(current)
        except OSError:  # it ended while we looked
            continue
    return found


def _cpu(pid: int) -> float | None:
    try:
        return cpu_seconds(pid)
    except OSError:  # gone (a database connection closed by its pool)
        return None


def backends_of(databases: Iterable[str]) -> list[int]:
    """The PostgreSQL server processes serving connections to these databases now (the
    server is on this machine: its backends are processes like any other)."""
    uris = list(databases)
    names = [make_url(uri).database for uri in uris]
    engine = create_engine(uris[0])
    try:
        with engine.connect() as connection:
            query = text("SELECT pid FROM pg_stat_activity WHERE datname = ANY(:names)")
            return [int(pid) for pid in connection.execute(query, {"names": names}).scalars()]
    finally:
        engine.dispose()


class TierMeter:
    """CPU per tier: `start()`, run the load, `stop()` (seconds by tier); then `per_request`.
    A process that ends in between (a pooled database connection closed) is left out."""

    def __init__(self, tiers: dict[str, Iterable[int]]) -> None:
        self.tiers = {
            name: [p for pid in pids for p in descendants(pid)] for name, pids in tiers.items()
        }
        self._start: dict[int, float] = {}

    @classmethod
    def of(cls, system: RunningSystem, front: Processes, rabbit: RabbitCluster) -> TierMeter:
        """The tiers of a benchmark on the cluster: HAProxy, the gateway replicas, each
        service, the RabbitMQ nodes."""
        running = system.processes.running
        return cls(
            {
                "HAProxy": [front.running["haproxy"].pid],
                "gateway": [p.pid for n, p in running.items() if n.startswith("gateway")],
                **{service: [running[service].pid] for service in PROCESSES},
                "RabbitMQ (3 nodes)": [n.process.pid for n in rabbit.nodes if n.process],
                "PostgreSQL (backends)": backends_of(system.databases.values()),
            }
        )

    def start(self) -> TierMeter:
        """Note where every process is now."""
        pids = [pid for pids in self.tiers.values() for pid in pids]
        self._start = {pid: cpu for pid in pids if (cpu := _cpu(pid)) is not None}
        return self

    def stop(self) -> dict[str, float]:
        """CPU seconds each tier spent since `start()`."""
        spent: dict[str, float] = {}
        for name, pids in self.tiers.items():
            now = {pid: _cpu(pid) for pid in pids if pid in self._start}
            spent[name] = sum(c - self._start[pid] for pid, c in now.items() if c is not None)
        return spent


def per_request(seconds: dict[str, float], requests: int) -> dict[str, float]:
    """Milliseconds of CPU per request, by tier."""
    return {name: spent * 1000 / max(requests, 1) for name, spent in seconds.items()}


def refusals(before: dict[Any, dict[str, str]], after: dict[Any, dict[str, str]]) -> str:
    """Who answered the 5xx between two snapshots of HAProxy's counters (tools.cluster's
    `haproxy_stats`): HAProxy itself (queue full or waited too long, or no replica up) or a
    gateway; and how often and how long a replica was marked down by its health check."""

    def delta(key: tuple[str, str], field: str) -> int:
        return int(after[key].get(field) or 0) - int(before[key].get(field) or 0)

    servers = [key for key in after if key[0] == "gateways" and key[1] not in FRONT_ROWS]
    by_gateways = sum(delta(key, "hrsp_5xx") for key in servers)
    total = delta(("gateways", "BACKEND"), "hrsp_5xx")
    down = ", ".join(
        f"{name} marked down {delta(('gateways', name), 'chkdown')}×"
        f" ({delta(('gateways', name), 'downtime')} s)"
        for _, name in servers
    )
    return f"5xx by HAProxy itself {total - by_gateways}, by the gateways {by_gateways}; {down}"


FRONT_ROWS = ("FRONTEND", "BACKEND")
