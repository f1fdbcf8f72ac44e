"""P1 beside baseline (a) only, for comparing the gateway's code before and after a change.

Usage: python -m bench.intake_p1 [--seconds 10] [--concurrency 64] [--rounds 1]
                                 [--profile out.txt]

The full `python -m bench.intake` also runs baseline (b), P6 and P7 and rewrites
BENCHMARKS.md: minutes of a shared machine. This runs baseline (a) and P1 (`--rounds` times,
alternating, in one running system), checks every 202 was stored once, prints the two
rates and CPU per answer with their ratios and the load average, and writes nothing.
`--profile` records the first gateway worker with py-spy (raw, on-CPU, `--gil`) during
the first P1 round.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

from kombu import Connection, Queue

from bench.environment import load_average, workers_of
from bench.intake import BACKGROUND_NICE, _baseline, _measured, _persisted
from bench.loadgen import bodies_from, closed_loop, run
from tests.support.processes import BIN
from tests.support.system import city_files, running_system


def main(argv: list[str] | None = None) -> None:
    """Measure baseline (a) and P1, back to back, and print their ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--profile", type=Path, default=None)
    args = parser.parse_args(argv)
    bodies = bodies_from(city_files() / "applications.jsonl")
    lines = []
    with (
        tempfile.TemporaryDirectory() as scratch,
        running_system(Path(scratch), background_nice=BACKGROUND_NICE) as system,
    ):
        with Connection(system.amqp_uri) as connection:
            Queue("bench.baseline", durable=True)(connection.default_channel).declare()
        url = f"{system.url}/api/v1/applications"
        auth = system.parent_headers()
        run(closed_loop(url, bodies[:3000], concurrency=args.concurrency, duration=3, headers=auth))
        step = 20000
        for number in range(args.rounds):
            publish = _baseline(Path(scratch), "publish", system.amqp_uri, bodies[:60000], args)
            start = 3000 + number * step * 3
            profiler = None
            if args.profile is not None and number == 0:
                worker = workers_of(system.processes.running["gateway"].pid)[0]
                record = [str(BIN / "py-spy"), "record", "-p", str(worker), "-f", "raw"]
                record += ["--gil", "-d", str(int(args.seconds)), "-o", str(args.profile)]
                profiler = subprocess.Popen(record, stdout=subprocess.DEVNULL)
            p1 = _measured(
                system.processes.running["gateway"].pid,
                closed_loop(
                    url,
                    bodies[start : start + 3 * step],
                    concurrency=args.concurrency,
                    duration=args.seconds,
                    headers=auth,
                ),
            )
            if profiler is not None:
                profiler.wait(timeout=60)
            check = _persisted(system, p1.references, timeout=900)
            assert check.lost == 0 and check.duplicated == 0, check
            cpu, base_cpu = p1.server_cpu_ms or 0, publish.server_cpu_ms or 1
            lines.append(
                f"round {number + 1}: P1 {p1.throughput:,.0f}/s at {cpu:.2f} ms CPU per 202"
                f" {dict(p1.statuses)}; baseline (a) {publish.throughput:,.0f}/s at"
                f" {base_cpu:.2f} ms; P1/(a) {p1.throughput / publish.throughput:.2f}x,"
                f" CPU/(a) {cpu / base_cpu:.2f}x; {check.once:,} stored once;"
                f" load average {load_average()}"
            )
            print(lines[-1], flush=True)


if __name__ == "__main__":
    main()
