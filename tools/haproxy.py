"""HAProxy in front of the RabbitMQ nodes and the gateway replicas: start it, read its counters.

One configuration for every layout, docker/haproxy/haproxy.cfg (the same as docker-compose.yml):
the addresses it balances come from its environment.
"""

from __future__ import annotations

import csv
import time

import requests

from tests.support.processes import ROOT, Processes, port_open

HAPROXY_CONFIG = ROOT / "docker" / "haproxy" / "haproxy.cfg"


def haproxy_stats(port: int) -> dict[tuple[str, str], dict[str, str]]:
    """HAProxy's counters by (proxy, server), from its stats page's CSV on `port`."""
    text = requests.get(f"http://127.0.0.1:{port}/stats;csv", timeout=10).text
    lines = text.lstrip("# ").splitlines()
    rows = csv.DictReader(lines)
    return {(row["pxname"], row["svname"]): row for row in rows}


def start_haproxy(
    processes: Processes, env: dict[str, str], name: str = "haproxy", nice: int = 0
) -> None:
    """Run HAProxy in the foreground (`-db`) on docker/haproxy/haproxy.cfg with `env`, at
    niceness `nice` (negative, if we may: ahead of the replicas behind it, as on a core of its
    own); waits until its AMQP front accepts connections."""
    processes.start(name, ["haproxy", "-db", "-f", str(HAPROXY_CONFIG)], env, nice)
    port = int(env["AMQP_FRONT"].rsplit(":", 1)[1])
    deadline = time.monotonic() + 30
    while not port_open(port):
        if processes.running[name].poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"HAProxy did not start:\n{processes.log(name)}")
        time.sleep(0.2)
