"""Three RabbitMQ nodes clustered on one machine, and HAProxy in front of them and of the
gateway replicas: the scale-out layout of the README's "A RabbitMQ cluster", runnable here.

Each node is the installed `rabbitmq-server` with its own node name, AMQP, distribution and
management ports, data and log directories; they share one Erlang cookie and find each other
by classic config peer discovery (the same as docker-compose.yml). `RabbitCluster` is used
by `make cluster` (`python -m tools.cluster`), the cluster test and the chaos scenario.
HAProxy itself is started and read by `tools.haproxy`.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from chaos.infra import AUTH, PrivateRabbit
from tests.support.processes import ROOT, Processes, free_port, port_open
from tools.haproxy import start_haproxy

NODES = 3


class RabbitCluster:
    """`NODES` RabbitMQ nodes under `root`, clustered; `base_port` fixes the ports (node i:
    AMQP base+i, management 10000+base+i, distribution 20000+base+i), else free ones."""

    def __init__(
        self, root: Path, *, prefix: str = "", base_port: int = 0, vhost: str = "tuyensinh"
    ) -> None:
        self.root, self.vhost = root, vhost
        root.mkdir(parents=True, exist_ok=True)
        saved = root / "cluster.json"  # a restarted cluster keeps its names and cookie
        if saved.exists():
            state = json.loads(saved.read_text())
        else:
            prefix = prefix or f"ts-{uuid.uuid4().hex[:6]}"
            state = {"prefix": prefix, "cookie": uuid.uuid4().hex.upper()}
            saved.write_text(json.dumps(state))
        names = [f"{state['prefix']}-{i}@localhost" for i in range(1, NODES + 1)]
        discovery = "cluster_formation.peer_discovery_backend = classic_config\n" + "".join(
            f"cluster_formation.classic_config.nodes.{i} = {name}\n"
            for i, name in enumerate(names, 1)
        )
        self.nodes = [
            PrivateRabbit(
                root / f"node-{i}",
                node=name,
                ports=(base_port + i, 10000 + base_port + i, 20000 + base_port + i)
                if base_port
                else None,
                cookie=state["cookie"],
                extra_conf=discovery,
                vhost=vhost,
            )
            for i, name in enumerate(names, 1)
        ]

    def start(self, timeout: float = 180) -> RabbitCluster:
        """Start every node; a blank cluster forms (the first node, then the others join it),
        a known one restarts (all at once: each waits for its peers). Returns once all
        `NODES` run as one cluster and the vhost exists."""
        taken = [node.port for node in self.nodes if port_open(node.port)]
        if taken:
            raise RuntimeError(f"ports {taken} are taken: is this cluster running already?")
        if not (self.nodes[0].root / "mnesia").exists():
            for node in self.nodes:
                node.init(vhost=False)  # the first forms the cluster; the others join it
        else:
            for node in self.nodes:
                node.spawn()
            for node in self.nodes:
                node.wait_ready(timeout)
        deadline = time.monotonic() + timeout
        while len(self.running()) < NODES:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {sorted(self.running())} of the cluster are running")
            time.sleep(1)
        self.nodes[0].create_vhost()
        return self

    def alive(self) -> list[PrivateRabbit]:
        """The nodes whose process we started and did not kill."""
        return [node for node in self.nodes if node.process is not None]

    def api(self, path: str) -> Any:
        """GET from the management API of the first live node that answers."""
        for node in self.alive():
            try:
                answer = requests.get(f"{node.management}/api/{path}", auth=AUTH, timeout=10)
            except requests.RequestException:
                continue
            if answer.ok:
                return answer.json()
        raise ConnectionError(f"no node of the cluster answered /api/{path}")

    def api_url(self) -> str:
        """The management API of the first live node."""
        return self.alive()[0].management

    def running(self) -> set[str]:
        """Names of the cluster's nodes that are running, as the cluster sees them."""
        try:
            return {node["name"] for node in self.api("nodes") if node.get("running")}
        except ConnectionError:
            return set()

    def queue(self, name: str) -> dict[str, Any]:
        """The management API's view of one queue of the vhost (type, leader, members)."""
        result: dict[str, Any] = self.api(f"queues/{quote(self.vhost, safe='')}/{quote(name)}")
        return result

    def node_named(self, name: str) -> PrivateRabbit:
        """The node called `name`."""
        return next(node for node in self.nodes if node.node == name)

    def leader_of(self, queue: str) -> PrivateRabbit:
        """The node leading a quorum queue (or holding a classic one)."""
        info = self.queue(queue)
        return self.node_named(info.get("leader") or info["node"])

    def amqp_uri(self, node: PrivateRabbit) -> str:
        """The vhost's URI on one node."""
        return f"pyamqp://guest:guest@127.0.0.1:{node.port}/{self.vhost}"

    def haproxy_env(self) -> dict[str, str]:
        """The node addresses, as docker/haproxy/haproxy.cfg reads them."""
        return {f"RABBIT_{i}": f"127.0.0.1:{n.port}" for i, n in enumerate(self.nodes, 1)}

    def stop(self, keep_data: bool = False) -> None:
        """Kill every node; remove their files unless `keep_data`."""
        for node in self.nodes:
            node.kill() if keep_data else node.stop()


@contextmanager
def cluster_front(
    root: Path, processes: Processes, gateways: Sequence[int], http: int, amqp: int, **kw: Any
) -> Iterator[RabbitCluster]:
    """A started cluster and HAProxy in front of it (AMQP on `amqp`) and of the gateway
    replicas on the ports `gateways` (HTTP on `http`); stops the cluster afterwards (and
    removes its files, unless `keep_data=True`). `haproxy_nice`: HAProxy's niceness. Other
    keywords go to `RabbitCluster`."""
    keep_data = bool(kw.pop("keep_data", False))
    stats = int(kw.pop("stats", 0)) or free_port()
    nice = int(kw.pop("haproxy_nice", 0))
    cluster = RabbitCluster(root, **kw)
    try:
        cluster.start()
        env = {
            **cluster.haproxy_env(),
            **{f"GATEWAY_{i}": f"127.0.0.1:{port}" for i, port in enumerate(gateways, 1)},
            "HTTP_FRONT": f"127.0.0.1:{http}",
            "AMQP_FRONT": f"127.0.0.1:{amqp}",
            "HAPROXY_STATS": f"127.0.0.1:{stats}",
        }
        # On top of our environment (GATEWAY_MAXCONN, ...).
        start_haproxy(processes, env, nice=nice)
        yield cluster
    finally:
        if "haproxy" in processes.running:
            processes.stop("haproxy")
        cluster.stop(keep_data)


def start_system(processes: Processes, env: dict[str, str], gateways: Sequence[int]) -> None:
    """The Procfile's processes on the cluster: one replica of the gateway per port in
    `gateways`, one instance of everything else (the README says how to add more), after
    the deploy step that declares the broker topology (`tools.topology`)."""
    deploy = [sys.executable, "-m", "tools.topology"]
    subprocess.run(deploy, env={**os.environ, **env}, cwd=ROOT, check=True)
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == "gateway":
            for i, port in enumerate(gateways, 1):
                bind = {"GATEWAY_BIND": f"127.0.0.1:{port}"}
                processes.start(f"gateway-{i}", shlex.split(command), {**env, **bind})
        elif command.strip():
            processes.start(name.strip(), shlex.split(command), env)


def main(argv: list[str] | None = None) -> int:
    """`make cluster`: the three nodes, HAProxy and the system, in the foreground."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=ROOT / "var" / "cluster")
    parser.add_argument("--base-port", type=int, default=5680, help="nodes on base+1..3")
    parser.add_argument("--amqp", type=int, default=5680, help="HAProxy's AMQP port")
    parser.add_argument("--http", type=int, default=8000, help="HAProxy's HTTP port")
    parser.add_argument("--stats", type=int, default=0, help="HAProxy's stats (default: free)")
    parser.add_argument("--gateways", default="8001,8002", help="the gateway replicas' ports")
    parser.add_argument("--broker-only", action="store_true", help="only nodes and HAProxy")
    args = parser.parse_args(argv)
    args.stats = args.stats or free_port()
    processes = Processes(args.dir / "logs")
    gateways = [int(port) for port in args.gateways.split(",")]
    front = cluster_front(
        args.dir,
        processes,
        gateways,
        args.http,
        args.amqp,
        base_port=args.base_port,
        prefix="ts-rabbit",
        keep_data=True,
        stats=args.stats,
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        with front as cluster:
            try:
                return _serve(cluster, processes, args, gateways)
            finally:
                processes.stop_all()  # the system first, then (leaving `with`) the nodes
    except KeyboardInterrupt:
        return 0


def _serve(
    cluster: RabbitCluster, processes: Processes, args: argparse.Namespace, gateways: list[int]
) -> int:
    uri = f"pyamqp://guest:guest@127.0.0.1:{args.amqp}/{cluster.vhost}"
    if not args.broker_only:
        start_system(processes, {"AMQP_URI": uri, "QUEUE_TYPE": "quorum"}, gateways)
    print(
        f"RabbitMQ cluster: {', '.join(sorted(cluster.running()))}\n"
        f"  management  {', '.join(n.management for n in cluster.nodes)} (guest)\n"
        f"  AMQP        {uri} (HAProxy, to every node; QUEUE_TYPE=quorum)\n"
        f"  HTTP        http://127.0.0.1:{args.http} (HAProxy, to the gateway"
        f" replicas on {args.gateways})\n"
        f"  HAProxy     http://127.0.0.1:{args.stats}/stats (replicas and nodes, up or down)\n"
        f"  logs        {args.dir / 'logs'}/\n"
        "Ctrl-C stops everything (the nodes' data stays in the directory).",
        flush=True,
    )
    while True:
        stopped = [name for name, p in processes.running.items() if p.poll() is not None]
        if stopped:
            print(f"{', '.join(stopped)} stopped; see {args.dir / 'logs'}/", file=sys.stderr)
            return 1
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
