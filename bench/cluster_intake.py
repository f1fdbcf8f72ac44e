"""P1 and P7 through HAProxy, on the 3-node quorum cluster: two gateway replicas, then one.

Usage: python -m bench.cluster_intake [--seconds 20] [--concurrency 64]

The same load as `bench.intake` (closed loop, 64 connections; P7 open loop at twice the
measured P1), sent to HAProxy instead of one gateway. HAProxy gives each replica at most
`GATEWAY_MAXCONN` requests at once and answers 503 itself when a request waits longer than
`HAPROXY_QUEUE_TIMEOUT` for a slot. Order: P1 with two replicas, P7 with two, then the
second replica is stopped (HAProxy marks it down) and P1 with one. Every 202 is counted in
the registration database afterwards: lost or doubled fails the benchmark.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from bench.intake import BACKGROUND_NICE, Check, _latency, _mark, _ms, _persisted
from bench.loadgen import LoadResult, bodies_from, closed_loop, open_loop, run
from bench.report import table, write_section
from bench.system import city_files, running_system
from tests.support.processes import Processes, free_port
from tools.cluster import cluster_front

COMMAND = "python -m bench.cluster_intake"


def main(argv: list[str] | None = None) -> None:
    """Measure and write the section of BENCHMARKS.md."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args(argv)
    # A SIGTERM still stops the nodes started here (they outlive us otherwise).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    bodies = iter(bodies_from(city_files() / "applications.jsonl"))
    with tempfile.TemporaryDirectory() as scratch:
        front = Processes(Path(scratch) / "front")
        replicas, http, amqp = [free_port(), free_port()], free_port(), free_port()
        with cluster_front(Path(scratch) / "rabbit", front, replicas, http, amqp) as rabbit:
            broker = (f"pyamqp://guest:guest@127.0.0.1:{amqp}/{rabbit.vhost}", rabbit.api_url())
            with running_system(
                Path(scratch) / "system",
                broker=broker,
                replicas=replicas,
                front=f"http://127.0.0.1:{http}",
                background_nice=BACKGROUND_NICE,
                # The services' own retry schedule: on a loaded machine the benchmarks' short
                # one (0.5 s, 2 s) parked submissions whose database pool timed out.
                extra_env={
                    "QUEUE_TYPE": "quorum",
                    "TRUSTED_PROXIES": "1",
                    "RETRY_DELAYS_MS": "[1000, 5000, 30000]",
                },
            ) as system:
                url = f"{system.url}/api/v1/applications"
                auth = system.parent_headers()

                def closed(seconds: float) -> LoadResult:
                    load = closed_loop(
                        url, bodies, concurrency=args.concurrency, duration=seconds, headers=auth
                    )
                    return run(load)

                closed(3)  # warm-up: every worker opens its pooled connections
                two = closed(args.seconds)
                rate = max(2 * two.throughput, 100)
                p7 = run(open_loop(url, bodies, rate=rate, duration=args.seconds / 2, headers=auth))
                system.processes.stop("gateway-2")
                time.sleep(3)  # HAProxy's check marks it down (2 failures, 1 s apart)
                one = closed(args.seconds)
                checks = {
                    name: _persisted(system, result.references, timeout=300)
                    for name, result in (("two", two), ("P7", p7), ("one", one))
                }
    _write(args, two, one, p7, rate, checks)
    for name, check in checks.items():
        assert check.lost == 0 and check.duplicated == 0, f"{name}: {check}"


def _write(
    args: argparse.Namespace,
    two: LoadResult,
    one: LoadResult,
    p7: LoadResult,
    rate: float,
    checks: dict[str, Check],
) -> None:
    refused_p99 = p7.percentile(99, p7.error_latencies_ms)
    goodput = p7.throughput / two.throughput if two.throughput else 0.0
    first = p7.first_503_ms
    p7_ok = goodput >= 0.9 and p7.timeouts == 0 and not refused_p99 > 50
    p7_ok = p7_ok and (first is None or first <= 50)
    rows = [
        ["P1 through HAProxy, 2 gateway replicas", f"{two.throughput:,.0f}/s", _latency(two)],
        ["P1 through HAProxy, 1 gateway replica", f"{one.throughput:,.0f}/s", _latency(one)],
        [
            f"P7 through HAProxy, 2 replicas, {rate:,.0f}/s offered (2× P1)",
            f"goodput {p7.throughput:,.0f}/s ({goodput:.0%} of P1)",
            f"first 503 after {_ms(first)}, 503 p99 {_ms(refused_p99)},"
            f" timeouts {p7.timeouts} · {_mark(p7_ok)} (≥ 90 %, ≤ 50 ms, 0)",
        ],
    ]
    body = table(["figure", "throughput", "latency p50 / p95 / p99"], rows)
    stored = "; ".join(
        f"{name}: {c.answered:,} answered 202, {c.once:,} stored once, {c.lost} lost,"
        f" {c.duplicated} duplicated"
        for name, c in checks.items()
    )
    body += (
        f"\n\nAnswers: 2 replicas {dict(two.statuses)}, 1 replica {dict(one.statuses)}, P7"
        f" {dict(p7.statuses)}. Counted in the registration database: {stored}.\n\n"
        f"Load: {args.concurrency} connections closed-loop for {args.seconds:.0f} s per P1, P7"
        f" open-loop for {args.seconds / 2:.0f} s; city-scale demo data. Each replica is"
        " gunicorn with 2 gevent workers; HAProxy gives each at most 32 requests at once"
        " (`GATEWAY_MAXCONN`) and waits at most 40 ms for a slot (`HAPROXY_QUEUE_TIMEOUT`)."
        " Three RabbitMQ nodes, HAProxy, the replicas, the services (niceness 10) and the"
        " load generator share this machine's cores: a second replica adds no cores here,"
        " only a second process to share them. Load average after the run:"
        f" {', '.join(f'{x:.2f}' for x in os.getloadavg())}."
    )
    write_section("cluster_intake", "Intake through HAProxy on the cluster", COMMAND, body)
    print(body)


if __name__ == "__main__":
    main()
