"""Sustained end-to-end capacity: how many families per second one machine serves.

Usage: python -m bench.capacity [--seconds 60] [--low 100] [--high 300] [--steps 5]

Every part runs on this machine: the gateway (gunicorn), the three services, the SMTP sink,
PostgreSQL, RabbitMQ, Redis and the load generator. Each trial offers submissions at a
fixed rate (open loop) for `--seconds`, then waits for every receipt e-mail. A rate holds
when every submission was answered 202, the receipts reached the SMTP sink with p99 ≤ 2 s
(from the gateway's stamp to the e-mail's `sent`), and the queues did not grow: the
messages waiting in the vhost over the trial's last third stay within 2 s worth of
submissions. The highest rate that holds is found by bisection: first `--low`, then
between it and `--high` (or between 0 and it, if it does not hold); each trial starts
from a quiet system (the previous one drained).
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import requests
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from bench.environment import cpu_seconds, load_average, queued_messages, workers_of
from bench.loadgen import LoadResult, bodies_from, open_loop, run
from bench.report import table, write_section
from tests.support.system import PROCESSES, RunningSystem, city_files, running_system

COMMAND = "python -m bench.capacity"
TARGET_RATE = 150.0
P99_MS = 2000.0
# The component's processes the CPU is counted for (the shared PostgreSQL and RabbitMQ
# serve other work on this machine too, so their CPU cannot be told apart and is left out).
COMPONENTS = ("gateway", *PROCESSES, "smtp")


@dataclass
class Trial:
    """One rate offered for the trial's seconds, and what it gave."""

    rate: float
    load: LoadResult
    receipts_ms: list[float]
    depths: list[int]
    cpu_ms: dict[str, float] = field(default_factory=dict)  # per application, by component

    @property
    def p99(self) -> float:
        """The receipts' 99th percentile, in milliseconds (inf when some never came)."""
        if len(self.receipts_ms) < len(set(self.load.references)) or not self.receipts_ms:
            return float("inf")
        return self.load.percentile(99, self.receipts_ms)

    @property
    def queue_bound(self) -> float:
        """Messages allowed to wait: two seconds' worth of submissions."""
        return max(2 * self.rate, 50)

    @property
    def late_depth(self) -> int:
        """The most messages waiting over the trial's last third."""
        return max(self.depths[len(self.depths) * 2 // 3 :], default=0)

    @property
    def queues_steady(self) -> bool:
        """The queues' depth over the last third of the trial stayed within the bound."""
        return bool(self.depths) and self.late_depth <= self.queue_bound

    @property
    def holds(self) -> bool:
        """Every submission 202, receipts p99 within 2 s, queues steady."""
        offered_all = self.load.ok == sum(self.load.statuses.values()) > 0
        clean = self.load.timeouts == 0 and self.load.errors == 0
        return offered_all and clean and self.p99 <= P99_MS and self.queues_steady


def _pids(system: RunningSystem, component: str) -> list[int]:
    pid = system.processes.running[component].pid
    return [pid, *workers_of(pid)] if component == "gateway" else [pid]


def _cpu(system: RunningSystem) -> dict[str, float]:
    return {c: sum(cpu_seconds(p) for p in _pids(system, c)) for c in COMPONENTS}


def _sample_depths(system: RunningSystem, stop: threading.Event, into: list[int]) -> None:
    while not stop.wait(2.0):
        try:
            into.append(queued_messages(system))
        except requests.RequestException:
            continue


def _receipts(engines: dict[str, Engine], references: set[str]) -> list[float]:
    """Milliseconds from each application's stamp to its receipt e-mail being sent."""

    def times(service: str, sql: str) -> dict[str, datetime]:
        for attempt in range(10):  # the shared server may be out of connections a moment
            try:
                with engines[service].connect() as connection:
                    return dict(connection.execute(text(sql)).tuples().all())
            except OperationalError:
                if attempt == 9:
                    raise
                time.sleep(2)
        raise AssertionError("unreachable")

    submitted = times("registration", "SELECT reference, submitted_at FROM applications")
    sent = times(
        "notification",
        "SELECT reference, min(sent_at) FROM deliveries"
        " WHERE channel = 'email' AND status = 'sent' GROUP BY reference",
    )
    return [
        (sent[ref] - submitted[ref]).total_seconds() * 1000
        for ref in references
        if ref in sent and ref in submitted
    ]


def _trial(
    system: RunningSystem,
    engines: dict[str, Engine],
    url: str,
    auth: dict[str, str],
    bodies: list[bytes],
    rate: float,
    seconds: float,
) -> Trial:
    depths: list[int] = []
    stop = threading.Event()
    sampler = threading.Thread(target=_sample_depths, args=(system, stop, depths), daemon=True)
    before = _cpu(system)
    sampler.start()
    load = run(open_loop(url, bodies, rate=rate, duration=seconds, headers=auth))
    stop.set()
    sampler.join()
    references = set(load.references)
    deadline = time.monotonic() + max(120.0, seconds * 3)
    receipts = _receipts(engines, references)
    while len(receipts) < len(references) and time.monotonic() < deadline:
        time.sleep(2)
        receipts = _receipts(engines, references)
    # The CPU of the whole pipeline for these applications: until the last receipt (or the
    # deadline), while the services finish what the trial queued.
    after = _cpu(system)
    applications = max(len(references), 1)
    trial = Trial(rate, load, receipts, depths)
    trial.cpu_ms = {c: (after[c] - before[c]) * 1000 / applications for c in COMPONENTS}
    while queued_messages(system) > 0 and time.monotonic() < deadline:  # quiet before the next
        time.sleep(2)
    return trial


def _describe(trial: Trial) -> str:
    p99 = "∞" if trial.p99 == float("inf") else f"{trial.p99:,.0f} ms"
    return (
        f"{trial.rate:,.0f}/s offered: {dict(trial.load.statuses)}, client timeouts"
        f" {trial.load.timeouts}, connection errors {trial.load.errors}, receipts"
        f" {len(trial.receipts_ms):,}/{len(set(trial.load.references)):,}, p99 {p99},"
        f" most waiting over the last third {trial.late_depth:,}"
        f" → {'holds' if trial.holds else 'does not hold'}"
    )


def main(argv: list[str] | None = None) -> None:
    """Find the sustained rate by bisection and write its section of BENCHMARKS.md."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--low", type=float, default=100)
    parser.add_argument("--high", type=float, default=300)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=float, default=20, help="seconds at 50/s first")
    args = parser.parse_args(argv)
    bodies = bodies_from(city_files() / "applications.jsonl")
    load_before = load_average()
    trials: list[Trial] = []
    with tempfile.TemporaryDirectory() as scratch, running_system(Path(scratch)) as system:
        url = f"{system.url}/api/v1/applications"
        auth = system.parent_headers()
        engines = {
            service: create_engine(system.databases[service], pool_size=1, max_overflow=0)
            for service in ("registration", "notification")
        }
        used = 0

        def attempt(rate: float) -> Trial:
            nonlocal used
            count = int(rate * args.seconds) + 10
            trial = _trial(
                system, engines, url, auth, bodies[used : used + count], rate, args.seconds
            )
            used += count
            trials.append(trial)
            print(_describe(trial), flush=True)
            return trial

        # Warm up (pools, caches, each service's first metrics poll, which starts a process
        # to learn the other services' queues), then bisect: `low` must hold for the search to
        # mean much. A 3 s warm-up left the first trial carrying the start-up: its first ~8 s
        # of receipts took up to 3.6 s, the rest 0.7 s at most (see NOTES).
        warm = int(args.warmup * 50)
        run(open_loop(url, bodies[:warm], rate=50, duration=args.warmup, headers=auth))
        settled = time.monotonic() + 60
        while queued_messages(system) > 0 and time.monotonic() < settled:
            time.sleep(1)
        used = warm
        # The first trial at `low`; if it does not hold, the search goes on below it.
        first = attempt(args.low)
        best: Trial | None = first if first.holds else None
        low, high = (args.low, args.high) if first.holds else (0.0, args.low)
        for _ in range(args.steps):
            middle = round((low + high) / 2)
            if middle <= low or middle >= high:
                break
            trial = attempt(middle)
            if trial.holds:
                low, best = middle, trial
            else:
                high = middle
        for engine in engines.values():
            engine.dispose()
        # Receipt and verdict go out as one notice per channel when they are ready together.
        emails = system.count(
            "notification", "SELECT count(*) FROM deliveries WHERE channel = 'email'"
        )
        stored = system.count("registration", "SELECT count(*) FROM applications")
    _write(args, trials, best or trials[-1], load_before, emails / max(stored, 1))


NOTES = """\
This round (issue 16), on a quiet machine (2026-12-07 13:07, nothing else running): the
search found 156/s with receipts p99 820 ms (target 150/s, p99 2 s: PASS), from 97/s in the
morning's quiet run, and CPU per application in the processes counted 6.96 ms, from 12.45 ms.
175/s and 162/s did not hold: the submissions queue grew, registration's backlog turned the
gateway's door to 503 (20 and 40 refused), and receipts waited up to 14 s; at 200/s receipts
still came in at p99 1.9 s, but 484 messages waited over the last third (more than 2 s
worth). So on these 2 cores the pipeline carries ~156 families a second end to end, with
PostgreSQL, RabbitMQ, Redis, the sink and the load generator on the same cores.

What was found and done, from py-spy on each service at a steady 80-130/s (on-CPU samples)
and from the morning's CPU per application: at ~100/s the batches of each consumer held ~5
messages (they waited 0.05 s for more), so what each batch pays once (a transaction, an
inbox statement, a registration call, a commit) was paid per handful. Allocation applied
registration's verdicts one message per transaction (3.08 ms an application): it now takes
them in batches of up to 200 waiting 0.5 s (it is not on the receipt's path), one
transaction, one inbox statement, the batch's rounds locked once and its rows read in one
query, in arrival order (`projection.apply_application_events`; 0.48 ms now). Registration
(3.35 ms): submission batches wait 0.2 s; submissions and events are read and built through
the contract's plan instead of marshmallow where the plan vouches for them
(`shared.contracts.reading`, moved from the notifier; anything else still goes through
marshmallow, so malformed stays poison); the live page's running counts in one statement;
the notifier's `get_applications` answered without marshmallow and without a look-up per
round; the outbox relay no longer makes an empty second pass after each batch (1.51 ms now).
The notifier (2.68 ms): the SMS daily cap was a flush, an advisory lock and a count for every
SMS, ~30 % of its samples at 80/s; now one lock statement (in key order) and one grouped
count per chunk; batches wait 0.2 s (1.39 ms now). The gateway got no cheaper per
application at this rate (see P1 above: at a steady trickle each 202 pays its own claim
commit and confirm). Since registration and allocation now hold messages in a filling batch
that the broker counts as unacknowledged, not ready, allocate's refusal while applications
are still on their way counts them too (`held_messages`), so a round is never allocated over
a change still in a batch.

The benchmark now warms up for 20 s at 50/s and waits for the queues to empty before its
first trial: with 3 s, the first trial carried the system's start-up (each service's first
metrics poll starts a process to learn the others' queues; pools fill): at 130/s its first
~8 s of receipts took up to 3.6 s and the rest at most 0.7 s, so the first trial failed at
any rate and the search went down from there. Per-2 s buckets of one 130/s trial after the
change: the slowest receipt in each bucket 0.58-0.98 s, p50 0.28-0.50 s throughout.

Then the gateway (2.85 ms of 6.96 ms), this round (see P1's sixth round): the submission
route's own WSGI path in front of Flask, the group commit's connections in autocommit from
the start, the envelope dumped by the contract's plan, the commands of requests arriving
together confirmed in one wait, the claims sent as arrays: 2.12 ms an application at 175/s
(2.85 ms at 156/s before), and the search found 175/s (p99 1.77 s), where 156/s held before;
182/s and 188/s did not (the queues grew, receipts waited up to 16 s). At such a rate few
requests arrive together, so each 202 still pays most of its own claim and confirm.

Next: registration's outbox relay, which decodes and re-encodes each stored event before
publishing it (~20 % of registration's samples), and each consumer's one ack per message
(a multiple ack per batch needs every outstanding delivery tag of the shared channel
tracked); the notifier (1.53 ms) and the gateway (2.12 ms) are now the largest shares."""


def _write(
    args: argparse.Namespace,
    trials: list[Trial],
    best: Trial,
    load_before: str,
    emails_each: float,
) -> None:
    found = best.rate if best.holds else 0.0
    p99 = "n/a" if best.p99 == float("inf") else f"{best.p99:,.0f} ms"
    cpu = ", ".join(f"{c} {best.cpu_ms[c]:.2f} ms" for c in COMPONENTS)
    total = sum(best.cpu_ms.values())
    rows = [
        [
            "sustained end-to-end capacity (submission → receipt e-mail at the SMTP sink)",
            f"{found:,.0f}/s" if best.holds else f"none held (lowest tried {best.rate:,.0f}/s)",
            p99,
            f"{total:.2f} ms ({cpu})",
            f"≥ {TARGET_RATE:,.0f}/s, p99 ≤ 2 s",
            "PASS" if found >= TARGET_RATE else "MISS",
        ]
    ]
    header = ["figure", "rate", "receipt p99", "CPU per application", "target", ""]
    body = table(header, rows)
    tried = "\n".join(f"- {_describe(t)}" for t in trials)
    body += (
        f"\n\nTrials, in the order of the bisection ({args.seconds:.0f} s each, open loop; first"
        f" {args.low:,.0f}/s, then {args.steps} steps toward {args.high:,.0f}/s if it held, else"
        f" toward 0):\n\n{tried}\n\n"
        "Every service, the gateway (2 gunicorn gevent workers), the SMTP sink, PostgreSQL,"
        " RabbitMQ, Redis and the asyncio load generator share this machine's cores, at the same"
        " niceness. A rate holds when every submission is answered 202 (no timeouts), every"
        " receipt e-mail reaches the sink with p99 ≤ 2 s from the gateway's stamp, and the"
        " messages waiting in the run's queues over the trial's last third stay within 2 s worth"
        " of submissions. CPU per application: user + system time of each component's processes"
        " from the trial's start until its last receipt, divided by the applications it took"
        " (PostgreSQL's, RabbitMQ's and the load generator's own CPU not included: they are shared"
        " with other work on this machine); it includes each process's fixed background work"
        " (pollers, timers, metrics), which weighs more per application the lower the rate."
        " E-mails sent per application over the whole"
        f" search: {emails_each:.2f} (the receipt and the verdict in one notice when both are"
        f" ready together). Load average before the search: {load_before};"
        f" after it: {load_average()}."
    )
    body += "\n\n" + NOTES
    write_section("capacity", "Sustained end-to-end capacity", COMMAND, body)
    print(body)


if __name__ == "__main__":
    main()
