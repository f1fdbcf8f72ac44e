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
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.cluster_intake import MAXCONN
from bench.intake import BACKGROUND_NICE
from bench.loadgen import LoadResult, ahead, bodies_from, closed_loop, open_loop, run
from bench.system import city_files, running_system
from tests.support.processes import ROOT, Processes, free_port, port_open
from tools.cluster import cluster_front

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


@dataclass
class Line:
    """HAProxy's log line for one request (docker/haproxy/haproxy.cfg's `log-format`)."""

    start: float  # when HAProxy began to wait for this request (accept + handshake + idle)
    read_ms: int  # %TR: reading the request (with its body)
    queue_ms: int  # %Tw: waiting for a slot (-1: never queued)
    server_ms: int  # %Tr: the gateway's answer (-1: never reached one)
    total_ms: int  # %Tt
    status: int
    state: str  # %ts: termination state
    queue_position: str  # %sq/%bq

    @classmethod
    def parse(cls, fields: list[str]) -> Line:
        accept, th, ti, tr, tw, _tc, tsrv, _ta, tt, status, state, _conns, queue = fields[1:14]
        start = float(accept) + (max(int(th), 0) + max(int(ti), 0)) / 1000
        return cls(start, int(tr), int(tw), int(tsrv), int(tt), int(status), state, queue)


def haproxy_lines(log: Path) -> dict[str, Line]:
    """HAProxy's request lines by X-Bench-Id."""
    lines = {}
    for text in log.read_text(errors="replace").splitlines():
        fields = text.split()
        if len(fields) >= 14 and fields[0] != "-" and fields[1].replace(".", "").isdigit():
            lines[fields[0]] = Line.parse(fields)
    return lines


def _pct(values: list[float], p: float) -> float:
    data = sorted(values)
    return data[min(len(data) - 1, int(round(p / 100 * (len(data) - 1))))] if data else 0.0


def _row(name: str, values: list[float]) -> str:
    if not values:
        return f"  {name:<44} -"
    return (
        f"  {name:<44} p50 {_pct(values, 50):7.1f}  p90 {_pct(values, 90):7.1f}"
        f"  p99 {_pct(values, 99):7.1f}  max {max(values):7.1f} ms"
    )


def split(label: str, result: LoadResult, lines: dict[str, Line] | None) -> str:
    """The 503s of one run, split by phase (ms), and the states of the slowest ones."""
    trace = result.trace or []
    refused = [t for t in trace if t[4] == 503]
    out = [
        f"{label}: {dict(result.statuses)}, timeouts {result.timeouts}, errors"
        f" {result.errors}, {result.seconds:.1f} s, load average {os.getloadavg()[0]:.2f}"
    ]
    lag = [(sent - due) * 1000 for _, due, sent, _, _ in trace]
    out.append(_row("generator: sent after it was due", lag))
    out.append(
        _row("503: client-measured (sent to answered)", [(t[3] - t[2]) * 1000 for t in refused])
    )
    if lines is None:
        return "\n".join(out)
    before, inside, after, queued = [], [], [], []
    states: Counter[str] = Counter()
    slow: Counter[str] = Counter()
    threshold = _pct([(t[3] - t[2]) * 1000 for t in refused], 95)
    for tag, _due, sent, answered, _status in refused:
        line = lines.get(tag)
        if line is None:
            states["(no HAProxy line)"] += 1
            continue
        end = line.start + max(line.total_ms, 0) / 1000
        before.append((line.start - sent) * 1000)
        inside.append((end - line.start) * 1000)
        after.append((answered - end) * 1000)
        if line.queue_ms >= 0:
            queued.append(line.queue_ms)
        kind = f"{line.state} {'gateway' if line.server_ms >= 0 else 'HAProxy'}"
        states[kind] += 1
        if (answered - sent) * 1000 >= threshold:
            slow[kind] += 1
    out += [
        _row("503: before HAProxy saw the request", before),
        _row("503: inside HAProxy (accept to log)", inside),
        _row("503: after HAProxy logged it", after),
        _row("503: queued for a slot (%Tw, if queued)", queued),
        f"  503 by termination state and source: {dict(states)}",
        f"  the slowest 5 % (≥ {threshold:.0f} ms): {dict(slow)}",
    ]
    return "\n".join(out)


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
    with tempfile.TemporaryDirectory() as scratch:
        front = Processes(Path(scratch) / "front")
        replicas, http, amqp = [free_port(), free_port()], free_port(), free_port()
        rabbit_root = Path(scratch) / "rabbit"
        nice = {"haproxy_nice": args.nice}
        with cluster_front(rabbit_root, front, replicas, http, amqp, **nice) as rabbit:
            broker = (f"pyamqp://guest:guest@127.0.0.1:{amqp}/{rabbit.vhost}", rabbit.api_url())
            with (
                running_system(
                    Path(scratch) / "system",
                    broker=broker,
                    replicas=replicas,
                    front=f"http://127.0.0.1:{http}",
                    background_nice=BACKGROUND_NICE,
                    extra_env={
                        "QUEUE_TYPE": "quorum",
                        "TRUSTED_PROXIES": "1",
                        "RETRY_DELAYS_MS": "[1000, 5000, 30000]",
                    },
                ) as system,
                ahead(args.nice) as raised,
            ):
                print(f"generator at niceness {args.nice}: {raised}", flush=True)
                url = f"{system.url}/api/v1/applications"
                auth = system.parent_headers()
                run(closed_loop(url, bodies, concurrency=2 * MAXCONN, duration=3, headers=auth))
                p1 = run(
                    closed_loop(
                        url, bodies, concurrency=2 * MAXCONN, duration=args.seconds, headers=auth
                    )
                )
                rate = args.rate or max(2 * p1.throughput, 100)
                print(f"P1: {p1.throughput:.0f}/s {dict(p1.statuses)}", flush=True)
                if not p1.throughput:
                    return
                for n in range(args.repeat):
                    p7 = run(
                        open_loop(
                            url, bodies, rate=rate, duration=args.seconds, headers=auth, trace=True
                        )
                    )
                    log = front.log_dir / "haproxy.log"
                    if args.keep_log:
                        shutil.copy(log, args.keep_log)
                    print(split(f"P7 #{n + 1} at {rate:.0f}/s", p7, haproxy_lines(log)), flush=True)
                    print(f"  goodput {p7.throughput / p1.throughput:.0%} of P1", flush=True)
    with ahead(args.nice):
        print(trivial(rate, args.seconds, next(bodies)), flush=True)


if __name__ == "__main__":
    main()
