"""Where P7's slow 503s come from: each answer's time split by HAProxy's own log.

Usage: python -m bench.p7_profile [--seconds 10] [--rate R]

First the load generator alone: the same open loop against a trivial HAProxy front that
answers every request with the same 503 at once (no gateway, no queue), which measures the
generator's and the machine's own lag. Then the cluster of `bench.cluster_intake` (HAProxy,
two gateway replicas, the quorum cluster) with HAProxy's request log on (`HAPROXY_LOG`):
P1 for the rate, then P7 at twice it. Every request carries an X-Bench-Id, so each client
measurement lines up with HAProxy's line for it, and each 503 splits into: before HAProxy
saw its request (connect, accept, the generator's own scheduling), inside HAProxy (reading
it, waiting in the queue, the gateway's answer), and after HAProxy logged it (the way back
and the client reading it). Prints the split; writes nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

from bench.cluster_intake import MAXCONN, cluster_system
from bench.haproxy_log import Line, Split, read_lines
from bench.loadgen import LoadResult, ahead, bodies_from, closed_loop, open_loop, run
from tests.support.processes import ROOT, Processes, free_port, port_open
from tests.support.system import city_files

ERRORS = ROOT / "docker" / "haproxy" / "errors"
TRIVIAL = """\
global
    default-path config
    maxconn 4000
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend trivial
    bind 127.0.0.1:{port}
    option http-buffer-request
    errorfile 503 {errors}/503.http
    http-request return status 503 default-errorfiles
"""


def split(label: str, result: LoadResult, lines: dict[str, Line] | None) -> str:
    """The 503s of one run, split by phase, as text."""
    head = (
        f"{label}: {dict(result.statuses)}, timeouts {result.timeouts}, errors"
        f" {result.errors}, {result.seconds:.1f} s, load average {os.getloadavg()[0]:.2f}"
    )
    phases = Split.of(result, lines or {})
    rows = phases.rows() if lines is not None else phases.rows()[:2]
    body = "\n".join(
        f"  {name:<72} p50 {p50:>8} p99 {p99:>8} max {top:>8}" for name, p50, p99, top in rows
    )
    return f"{head}\n{body}" + (f"\n  {phases.summary()}" if lines is not None else "")


def trivial(rate: float, seconds: float, body: bytes) -> str:
    """The generator alone against HAProxy answering 503 at once."""
    with tempfile.TemporaryDirectory() as scratch:
        port = free_port()
        config = Path(scratch) / "trivial.cfg"
        config.write_text(TRIVIAL.format(port=port, errors=ERRORS))
        processes = Processes(Path(scratch) / "logs")
        processes.start("trivial", ["haproxy", "-db", "-f", str(config)], {})
        try:
            while not port_open(port):
                pass
            url = f"http://127.0.0.1:{port}/api/v1/applications"
            bodies = [body] * int(rate * seconds + 1)
            result = run(open_loop(url, bodies, rate=rate, duration=seconds, trace=True))
        finally:
            processes.stop_all()
    return split(f"trivial 503 front at {rate:.0f}/s", result, None)


def main(argv: list[str] | None = None) -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rate", type=float, default=0, help="P7's rate (default: 2× P1)")
    parser.add_argument("--repeat", type=int, default=1, help="P7 runs, one after the other")
    parser.add_argument("--nice", type=int, default=0, help="HAProxy's and the generator's")
    parser.add_argument("--keep-log", type=Path, help="copy HAProxy's log there")
    args = parser.parse_args(argv)
    os.environ["HAPROXY_LOG"] = "1"
    bodies = iter(bodies_from(city_files() / "applications.jsonl"))
    with (
        tempfile.TemporaryDirectory() as scratch,
        cluster_system(Path(scratch), haproxy_nice=args.nice) as cluster,
    ):
        system, front = cluster.system, cluster.front
        url = f"{system.url}/api/v1/applications"
        auth = system.parent_headers()
        run(closed_loop(url, bodies, concurrency=2 * MAXCONN, duration=3, headers=auth))
        p1 = run(
            closed_loop(url, bodies, concurrency=2 * MAXCONN, duration=args.seconds, headers=auth)
        )
        rate = args.rate or max(2 * p1.throughput, 100)
        print(f"P1: {p1.throughput:.0f}/s {dict(p1.statuses)}", flush=True)
        if not p1.throughput:
            return
        base = p1.throughput
        for n in range(args.repeat):
            # Only the open loop goes ahead (a closed loop would spin on 503s).
            crowd = open_loop(
                url, bodies, rate=rate, duration=args.seconds, headers=auth, trace=True
            )
            with ahead(args.nice) as raised:
                p7 = run(crowd)
            print(f"generator at niceness {args.nice}: {raised}", flush=True)
            log = front.log_dir / "haproxy.log"
            if args.keep_log:
                shutil.copy(log, args.keep_log)
            print(split(f"P7 #{n + 1} at {rate:.0f}/s", p7, read_lines(log)), flush=True)
            print(f"  goodput {p7.throughput / base:.0%} of P1", flush=True)
    with ahead(args.nice):
        print(trivial(rate, args.seconds, next(bodies)), flush=True)


if __name__ == "__main__":
    main()
