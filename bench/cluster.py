"""The price of replication: publish-with-confirm on a 3-node quorum cluster against one
classic node, in the same run.

Usage: python -m bench.cluster [--messages 3000]

Each figure publishes submission-sized commands into `registration.submit_application`:
one at a time, waiting for each confirm (what a gateway request does: MessageBus), and
pipelined in batches of 200 (the outbox relay: PipelinedPublisher). Targets: (a) the
machine's classic node, a fresh vhost; (b) the quorum cluster through HAProxy (what the
clients use); (c) the quorum cluster straight to one node (HAProxy's hop left out).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.report import table, write_section
from shared import topology
from shared.messaging.bus import MessageBus, PipelinedPublisher
from tests.support.broker import create_vhost, delete_vhost
from tests.support.processes import Processes, free_port
from tools.cluster import cluster_front
from tools.topology import declare_all

COMMAND = "python -m bench.cluster"
QUEUE = "registration.submit_application"
FORM = "x" * 600  # about the size of a submission's envelope


def _envelope() -> dict[str, Any]:
    event_id = str(uuid.uuid4())
    return {
        "event_id": event_id,
        "correlation_id": event_id,
        "type": "submit_application",
        "payload": {"form": FORM},
    }


def _one_by_one(amqp_uri: str, count: int) -> tuple[float, float, float]:
    """Messages/s, p50 and p99 of the confirm wait (ms), one publish at a time."""
    bus = MessageBus(amqp_uri)
    bus.send_command("registration", _envelope())  # the connection and channel, once
    waits = []
    started = time.monotonic()
    for _ in range(count):
        sent = time.monotonic()
        bus.send_command("registration", _envelope())
        waits.append((time.monotonic() - sent) * 1000)
    rate = count / (time.monotonic() - started)
    waits.sort()
    return rate, waits[len(waits) // 2], waits[int(len(waits) * 0.99)]


def _pipelined(amqp_uri: str, count: int, batch: int = 200) -> float:
    """Messages/s, batches of `batch` with one wait for all their confirms."""
    publisher = PipelinedPublisher(amqp_uri)
    key = QUEUE
    exchange = topology.COMMANDS.name
    publisher.publish([(exchange, key, _envelope())])
    started = time.monotonic()
    for _ in range(count // batch):
        publisher.publish([(exchange, key, _envelope()) for _ in range(batch)])
    rate = (count // batch) * batch / (time.monotonic() - started)
    publisher.close()
    return rate


def _measure(amqp_uri: str, settings: topology.QueueSettings, count: int) -> list[str]:
    declare_all(amqp_uri, [1000], settings)
    rate, p50, p99 = _one_by_one(amqp_uri, count)
    pipelined = _pipelined(amqp_uri, count * 3)
    return [f"{rate:,.0f}/s", f"{p50:.1f} / {p99:.1f} ms", f"{pipelined:,.0f}/s"]


def main(argv: list[str] | None = None) -> None:
    """Measure and write the section of BENCHMARKS.md."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=3000)
    args = parser.parse_args(argv)
    # A SIGTERM still stops the nodes started here (they outlive us otherwise).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    rows = []
    classic = create_vhost()
    try:
        rows.append(
            ["one classic node", *_measure(classic, topology.CLASSIC_QUEUES, args.messages)]
        )
    finally:
        delete_vhost(classic)
    quorum = topology.QueueSettings(topology.QUORUM)
    with tempfile.TemporaryDirectory() as scratch:
        processes = Processes(Path(scratch) / "logs")
        amqp = free_port()
        front = cluster_front(Path(scratch) / "rabbit", processes, [free_port()], free_port(), amqp)
        with front as cluster:
            through = f"pyamqp://guest:guest@127.0.0.1:{amqp}/{cluster.vhost}"
            rows.append(
                ["quorum, 3 nodes, through HAProxy", *_measure(through, quorum, args.messages)]
            )
            direct = cluster.amqp_uri(cluster.nodes[0])
            rows.append(
                ["quorum, 3 nodes, straight to a node", *_measure(direct, quorum, args.messages)]
            )
    body = table(
        [
            "target",
            "one at a time, confirm each",
            "confirm wait p50 / p99",
            "pipelined, 200 a batch",
        ],
        rows,
    )
    body += (
        f"\n\n{args.messages:,} messages one at a time, {args.messages * 3:,} pipelined, per"
        " target, into `registration.submit_application` (about 700 bytes each, persistent)."
        " A quorum queue confirms once a majority of its members (2 of 3) has written the"
        " message; the three nodes share this machine's 2 cores and disk with the client."
        " Straight to a node, that node may not lead the queue: the message then takes one"
        " more hop inside the cluster, as through HAProxy when it picks another node."
        f" Load average after the run: {', '.join(f'{x:.2f}' for x in os.getloadavg())}."
    )
    write_section("cluster", "Publish with confirm: quorum cluster against one node", COMMAND, body)
    print(body)


if __name__ == "__main__":
    main()
