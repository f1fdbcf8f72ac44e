"""The system in its scale-out layout: `running_system` on the three-node quorum cluster, with
HAProxy in front of the nodes and of two gateway replicas (`tools.cluster`). One setup for the
cluster test and the benchmarks that measure through HAProxy."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.processes import Processes, free_port
from tests.support.system import RunningSystem, running_system
from tools.cluster import RabbitCluster, cluster_front

REPLICAS = 2  # gateway replicas behind HAProxy


@dataclass
class ClusterSystem:
    """The running system, its broker cluster, and HAProxy's process (in `front`)."""

    system: RunningSystem
    rabbit: RabbitCluster
    front: Processes
    stats: int  # HAProxy's stats port (`tools.haproxy.haproxy_stats`)


@contextmanager
def running_on_cluster(
    workdir: Path,
    *,
    extra_env: dict[str, str] | None = None,
    haproxy_nice: int = 0,
    **system: Any,
) -> Iterator[ClusterSystem]:
    """Start the cluster, HAProxy and the system on it (quorum queues, the replicas trusting
    HAProxy's X-Forwarded-For); stop it all afterwards. `extra_env` goes on top of those
    settings; other keywords go to `running_system`."""
    front = Processes(workdir / "front")
    replicas = [free_port() for _ in range(REPLICAS)]
    http, amqp, stats = free_port(), free_port(), free_port()
    kw = {"stats": stats, "haproxy_nice": haproxy_nice}
    with cluster_front(workdir / "rabbit", front, replicas, http, amqp, **kw) as rabbit:
        broker = (f"pyamqp://guest:guest@127.0.0.1:{amqp}/{rabbit.vhost}", rabbit.api_url())
        env = {"QUEUE_TYPE": "quorum", "TRUSTED_PROXIES": "1", **(extra_env or {})}
        with running_system(
            workdir / "system",
            broker=broker,
            replicas=replicas,
            front=f"http://127.0.0.1:{http}",
            extra_env=env,
            **system,
        ) as running:
            yield ClusterSystem(running, rabbit, front, stats)
