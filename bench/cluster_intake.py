"""P1 and P7 through HAProxy, on the 3-node quorum cluster: two gateway replicas, then one.

Usage: python -m bench.cluster_intake [--seconds 20] [--concurrency N]

The same load as `bench.intake` (P1 closed loop; P7 open loop at twice the measured P1), sent
to HAProxy instead of one gateway. HAProxy gives each replica at most `GATEWAY_MAXCONN`
requests at once; a request that finds `HAPROXY_QUEUE_MAX` others already waiting for a slot
is answered 503 at once, and one that waits longer than `HAPROXY_QUEUE_TIMEOUT` too. P1's
closed loop has as many clients as HAProxy admits (replicas x `GATEWAY_MAXCONN`, unless
`--concurrency`): more would only spin on 503s, which a real client does not (Retry-After).
Order: P1 with two replicas (with the CPU each tier spends per submission), P7 with two,
then the second replica is stopped (HAProxy marks it down) and P1 with one. Every 202 is
counted in the registration database: lost or doubled fails the benchmark.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from contextlib import AbstractContextManager
from pathlib import Path
from urllib.parse import quote

from bench.haproxy_log import Split, read_lines
from bench.intake import BACKGROUND_NICE, Check, _latency, _mark, _ms, _persisted
from bench.loadgen import LoadResult, ahead, bodies_from, closed_loop, open_loop, run
from bench.public_pages import Page, measure, section
from bench.report import table, write_section
from bench.tiers import TierMeter, per_request, refusals
from tests.support.cluster import ClusterSystem, running_on_cluster
from tests.support.system import city_files
from tools.cluster import RabbitCluster
from tools.haproxy import haproxy_stats

COMMAND = "python -m bench.cluster_intake"
NOTES = """\
What the profile showed (`python -m bench.p7_profile`, and the split above). Each P7 request
carries an X-Bench-Id that HAProxy logs with its own phases, so a 503 splits into the time
before HAProxy read it, inside HAProxy, and after. Earlier rounds, on a loaded machine: the
generator sent requests late and the door's 503s (`LR`) spent their time before HAProxy
read them (503 p99 177 to 1,201 ms); fixed by running HAProxy and P7's open loop at niceness
-5, as on machines or a core of their own (P1's closed loop stays at 0: ahead of the replicas
it spins on 503s and starves them). On a quiet machine that left 503 p99 at 21 to 28 ms, but
goodput at 77 to 81 % of P1 (two runs), for three reasons found and fixed this round:
P7 began while allocation and the notifier still drained P1's backlog on the same cores (P7
now starts once every queue of the run is empty, as P1 did); every HAProxy 503 closed its
connection, so each refused client reconnected (HAProxy's own 503 now states its length and
keeps the connection: a refused phone retries on it, with no new TCP or TLS handshake); and
P7 ran 10 s against P1's 20 s, so its tail weighed twice as much (both 20 s now). The load
generator is now a lean asyncio client (`bench/httpclient.py`, 0.03 ms of CPU per keep-alive
request against aiohttp's 0.09 ms, measured back to back against a local server). The
GETs' 429s of an earlier run (every benchmark client shares 127.0.0.1, and one account stood
for the crowd) are gone: the benchmark system lifts the look-up and account limits as it
lifts the submission limit; the limits are tested on their own.

P1 with one replica above P1 with two is this machine, not the proxy: two replicas add no
cores here, only twice the requests in flight (32 against 16) contending for the same two
cores with three RabbitMQ nodes that replicate each confirm. P7's goodput above P1's is
within this machine's spread from run to run (P1 with two replicas measured 257 to 330/s in
four runs today). Next: the same run with the replicas, the nodes and the generator on
machines of their own, where the second replica's share is a real core."""
# docker/haproxy/haproxy.cfg's defaults (HAProxy reads the same variables if they are set).
MAXCONN = int(os.environ.get("GATEWAY_MAXCONN", "16"))
QUEUE_MAX = int(os.environ.get("HAPROXY_QUEUE_MAX", "4"))
QUEUE_TIMEOUT = os.environ.get("HAPROXY_QUEUE_TIMEOUT", "20ms")
# HAProxy's and P7's load generator's niceness: ahead of the system they front and measure,
# as on machines (or a core) of their own. At P7 the replicas keep both cores busy, and a
# client or proxy behind them in the run queue answers late what it decided in microseconds.
FRONT_NICE = -5


def cluster_system(
    scratch: Path, haproxy_nice: int = FRONT_NICE
) -> AbstractContextManager[ClusterSystem]:
    """The system these measurements run on (also `bench.p7_profile`'s): the quorum cluster
    and two gateway replicas behind HAProxy (at `FRONT_NICE` unless told), the services at
    `BACKGROUND_NICE`, with the services' own retry schedule: on a loaded machine the
    benchmarks' short one (0.5 s, 2 s) parked submissions whose database pool timed out."""
    return running_on_cluster(
        scratch,
        haproxy_nice=haproxy_nice,
        background_nice=BACKGROUND_NICE,
        extra_env={"RETRY_DELAYS_MS": "[1000, 5000, 30000]"},
    )


def main(argv: list[str] | None = None) -> None:
    """Measure and write the section of BENCHMARKS.md."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=0, help="default: what HAProxy admits")
    args = parser.parse_args(argv)
    # A SIGTERM still stops the nodes started here (they outlive us otherwise).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    os.environ["HAPROXY_LOG"] = "1"  # one line per request: where each 503's time went
    bodies = iter(bodies_from(city_files() / "applications.jsonl"))
    with tempfile.TemporaryDirectory() as scratch, cluster_system(Path(scratch)) as cluster:
        system, rabbit, front, stats = cluster.system, cluster.rabbit, cluster.front, cluster.stats
        url = f"{system.url}/api/v1/applications"
        auth = system.parent_headers()

        def closed(seconds: float, replicas: int) -> LoadResult:
            concurrency = args.concurrency or replicas * MAXCONN
            load = closed_loop(url, bodies, concurrency=concurrency, duration=seconds, headers=auth)
            return run(load)

        closed(3, 2)  # warm-up: every worker opens its pooled connections
        counters = [haproxy_stats(stats)]
        meter = TierMeter.of(system, front, rabbit).start()
        two = closed(args.seconds, 2)
        # Until registration has stored them all: its CPU for these is then counted.
        checks = {"two": _persisted(system, two.references, timeout=300)}
        cpu = per_request(meter.stop(), two.ok)
        counters.append(haproxy_stats(stats))
        # P7 starts from a system as idle as P1's was: not while allocation and the
        # notifier still work through P1's backlog on the same cores.
        _idle(rabbit, timeout=300)
        rate = max(2 * two.throughput, 100)
        meter = TierMeter.of(system, front, rabbit).start()
        # Only P7's open loop goes ahead: its rate is fixed whatever the answers, while
        # a closed loop ahead of the replicas would spin on 503s and starve them.
        crowd = open_loop(url, bodies, rate=rate, duration=args.seconds, headers=auth, trace=True)
        with ahead(FRONT_NICE) as raised:
            p7 = run(crowd)
        phases = Split.of(p7, read_lines(front.log_dir / "haproxy.log"))
        p7_cpu = per_request(meter.stop(), sum(p7.statuses.values()))
        counters.append(haproxy_stats(stats))
        checks["P7"] = _persisted(system, p7.references, timeout=300)
        meter = TierMeter.of(system, front, rabbit)
        status = (f"/api/v1/applications/{two.references[0]}", auth)
        pages = measure(system.url, city_files(), args.seconds / 2, meter, status)
        counters.append(haproxy_stats(stats))
        system.processes.stop("gateway-2")
        time.sleep(3)  # HAProxy's check marks it down (2 failures, 1 s apart)
        one = closed(args.seconds, 1)
        checks["one"] = _persisted(system, one.references, timeout=300)
    shed = [refusals(a, b) for a, b in zip(counters, counters[1:], strict=False)]
    _write(args, two, one, p7, rate, checks, cpu, p7_cpu, pages, shed, phases, raised)
    for name, check in checks.items():
        assert check.lost == 0 and check.duplicated == 0, f"{name}: {check}"


def _idle(rabbit: RabbitCluster, timeout: float) -> None:
    """Wait until no message waits or is in work in any queue of the run's vhost, twice in a
    row a stats interval apart (the management API's counts are refreshed every 5 s)."""
    path = f"queues/{quote(rabbit.vhost, safe='')}?columns=name,messages"
    quiet = 0
    deadline = time.monotonic() + timeout
    while quiet < 2:
        if time.monotonic() > deadline:
            raise TimeoutError("the services did not drain P1's backlog in time")
        busy = sum(int(queue.get("messages") or 0) for queue in rabbit.api(path))
        quiet = quiet + 1 if busy == 0 else 0
        time.sleep(5 if busy == 0 else 1)


def _write(
    args: argparse.Namespace,
    two: LoadResult,
    one: LoadResult,
    p7: LoadResult,
    rate: float,
    checks: dict[str, Check],
    cpu: dict[str, float],
    p7_cpu: dict[str, float],
    pages: list[Page],
    shed: list[str],
    phases: Split,
    raised: bool,
) -> None:
    refused_p99 = p7.percentile(99, p7.error_latencies_ms)
    goodput = p7.throughput / two.throughput if two.throughput else 0.0
    first = p7.first_503_answer_ms
    p7_ok = goodput >= 0.9 and p7.timeouts == 0 and not refused_p99 > 50
    p7_ok = p7_ok and (first is None or first <= 50)
    rows = [
        ["P1 through HAProxy, 2 gateway replicas", f"{two.throughput:,.0f}/s", _latency(two)],
        ["P1 through HAProxy, 1 gateway replica", f"{one.throughput:,.0f}/s", _latency(one)],
        [
            f"P7 through HAProxy, 2 replicas, {rate:,.0f}/s offered (2× P1)",
            f"goodput {p7.throughput:,.0f}/s ({goodput:.0%} of P1)",
            f"first 503 answered in {_ms(first)} ({_ms(p7.first_503_ms)} into the run),"
            f" 503 p50 {_ms(p7.percentile(50, p7.error_latencies_ms))}, p99"
            f" {_ms(refused_p99)}, timeouts {p7.timeouts} · {_mark(p7_ok)} (≥ 90 %, ≤ 50 ms,"
            " ≤ 50 ms, 0)",
        ],
    ]
    body = table(["figure", "throughput", "latency p50 / p95 / p99"], rows)
    body += "\n\n" + table(
        ["CPU per request, by tier", "P1, 2 replicas (per 202)", "P7 (per answer, 202 or 503)"],
        [[name, f"{ms:.2f} ms", f"{p7_cpu[name]:.2f} ms"] for name, ms in cpu.items()],
    )
    body += "\n\n" + table(
        ["P7: where the time went (HAProxy's log)", "p50", "p99", "max"], phases.rows()
    )
    body += (
        f"\n\n{phases.summary()}. Each P7 request carries an X-Bench-Id that HAProxy logs"
        " (`HAPROXY_LOG`) with its own phases (`bench/haproxy_log.py`): before = from when the"
        " client sent it to when HAProxy saw its first byte (%Ti counts from the accept), inside"
        " = to HAProxy's end of it (%Tt), after = to the client's reading of the answer. HAProxy"
        " and P7's load generator ran at niceness"
        f" {FRONT_NICE if raised else 0}{'' if raised else ' (not allowed here)'}, the replicas"
        f" at 0, the services at {BACKGROUND_NICE}."
    )
    body += (
        "\n\n"
        + section(pages)
        + (
            f"\n\nGETs: {pages[0].result.seconds:.0f} s each, closed-loop, 32 connections, two"
            " replicas, right after P7 (`bench/public_pages.py`); CPU per request of HAProxy"
            " and of the gateway replicas' processes. A cached answer is HAProxy's alone: one"
            " request per URL and `PUBLIC_CACHE_SECONDS` (5) reaches a gateway. The status"
            " poll also costs registration (an RPC): see the last column."
        )
    )
    stored = "; ".join(
        f"{name}: {c.answered:,} answered 202, {c.once:,} stored once, {c.lost} lost,"
        f" {c.duplicated} duplicated"
        for name, c in checks.items()
    )
    clients = f"{args.concurrency}" if args.concurrency else f"{2 * MAXCONN} (then {MAXCONN})"
    body += (
        f"\n\nAnswers: 2 replicas {dict(two.statuses)}, 1 replica {dict(one.statuses)}, P7"
        f" {dict(p7.statuses)}. Counted in the registration database: {stored}.\n\n"
        f"HAProxy's counters (its stats page): during P1 with 2 replicas, {shed[0]}; during"
        f" P7, {shed[1]}; during the GETs, {shed[2]}.\n\n"
        f"Load: {clients} connections closed-loop for {args.seconds:.0f} s per P1 (as many as"
        f" HAProxy admits), P7 open-loop for {args.seconds:.0f} s; city-scale demo data."
        " Each replica is gunicorn with 2 gevent workers. HAProxy gives each at most"
        f" {MAXCONN} requests at once (`GATEWAY_MAXCONN`), answers 503 at once when"
        f" {QUEUE_MAX} requests already wait for a slot (`HAPROXY_QUEUE_MAX`) and after"
        f" {QUEUE_TIMEOUT} of waiting (`HAPROXY_QUEUE_TIMEOUT`). CPU per request: user +"
        " system time of each tier's processes over the run, divided by its requests; for P1"
        " from the start of the load until registration had stored every 202 (the services"
        " drain at niceness 10, behind the load; notification may still have receipts to"
        " send, so its figure is a floor). PostgreSQL and Redis are shared with other work"
        " on this machine and not counted. Three RabbitMQ nodes, HAProxy, the replicas, the"
        " services and the load generator share this machine's cores: a second replica adds"
        " no cores here, only a second process to share them. Load average after the run:"
        f" {', '.join(f'{x:.2f}' for x in os.getloadavg())}."
    )
    body += "\n\n" + NOTES
    write_section("cluster_intake", "Intake through HAProxy on the cluster", COMMAND, body)
    print(body)


if __name__ == "__main__":
    main()
