"""`make chaos`: break the running system on purpose and count what survived.

Usage: python -m chaos [scenario ...] [--count 10000]

Each scenario gets a fresh system on a private PostgreSQL cluster and a private RabbitMQ
node that this command starts itself (free ports, scratch directories), so restarting the
broker or the database server touches nothing else on the machine; only processes this
command started are killed, by their recorded PIDs. The figures go to RELIABILITY.md, one
section per scenario, with the command that made them.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import make_url

from bench.loadgen import bodies_from
from bench.report import write_section
from chaos import cluster as chaos_cluster
from chaos import erasure, round_close, scenarios, security
from chaos.infra import PrivatePostgres, PrivateRabbit
from chaos.scenarios import Outcome, Submitter
from tests.support.system import (
    SERVICES,
    RunningSystem,
    city_files,
    prepare_databases,
    running_system,
)

RELIABILITY = Path(__file__).resolve().parents[1] / "RELIABILITY.md"
HEADER = (
    "# Reliability\n\nFigures from `make chaos` (`python -m chaos`): each scenario breaks the"
    " real system on purpose (real processes, a private PostgreSQL cluster and RabbitMQ node"
    " the harness starts itself), then an invariant checker counts, in the databases, on the"
    " broker and in what the SMTP and SMS sinks received, what survived. A scenario passes"
    " only if every invariant holds and its own target is met. `make test` runs short"
    " versions of scenarios 1, 4 and 5 (tests/e2e/test_chaos_short.py), the access matrix"
    " (tests/e2e/test_access.py) and erasure (tests/e2e/test_erasure.py). `make chaos` runs"
    " all thirteen with `--count 10000`; each section names the command that made it.\n\n"
    "**Why a notice is never sent twice (scenario 5).** The notification ledger claims each"
    " (event, channel) in a committed `sending` row before it hands the message over; a"
    " redelivered event that finds `sending` marks it `uncertain` and does not send again."
    " So a kill between the hand-over and the record cannot double a message: at most once."
    " The price: a kill after the claim but before the hand-over leaves that one notice"
    " unsent, recorded `uncertain` for an operator (`list_deliveries`); the in-app inbox copy"
    " is always there. E-mails carry a Message-ID fixed by the event, SMS a client reference"
    " fixed by the event, so a provider that dedupes closes even that window.\n\n"
    "**A database outage spends no retries (scenario 3).** A handler that fails because its"
    " database is unreachable (a refused or dropped connection, a server shutting down or"
    " starting up) sends its message round again on the retry schedule and then every"
    " longest delay (30 s), without counting an attempt, up to `DB_OUTAGE_RETRIES` times"
    " (120: about an hour); only past that cap does the ordinary budget (1 s, 5 s, 30 s)"
    " run, then the dead-letter queue. A statement the database answers with an error"
    " spends the budget as before (shared/messaging/failures.py,"
    " tests/integration/test_database_outage.py).\n\n"
    "**Payloads that carry the citizen ID (scenario 10).** `submit_application` (the"
    " parent's form on its way to registration, which owns it and checks it against the"
    " population register) and `application_verified` (allocation computes the published"
    " lottery number from it: the HMAC of the round's seed and the citizen ID). Every other"
    " message and every log must have none.\n\n"
    "**What erasure leaves (scenario 11).** The application's reference, round, status and"
    " preferences, and the result's school, tiers and lottery number: the round's counts,"
    " shares, cutoffs and waitlists stand. The lottery number is an HMAC of the citizen ID"
    " under the round's published seed; someone who already knows a child's citizen ID could"
    " recompute it and find that child's row (school, status), though never learn an ID from"
    " it. The population register is the state's record, not the family's submission, and"
    " is not erased. A message parked in a dead-letter queue before the erasure keeps what"
    " it carried until an operator replays or purges it.\n\n"
    "**What counts as in time (scenario 12).** The instant the gateway stamps on a submission"
    " (right before it publishes), against the round's window; registration honours every"
    " submission stamped before the close instant however long it waited, and learns the"
    " instant in the submissions' own queue. A 202 it refuses anyway (only a gateway that"
    " missed the close can give one) is stored as `refused`, shown and notified: the"
    " scenario's replica that trusts a ten-minute-old view of the rounds makes 50 of them.\n"
)

# The services' own retry schedule (config.yml), not the benchmarks' short one: a database
# or broker outage of a few seconds must not exhaust it and park good messages.
PRODUCTION_RETRIES = {"RETRY_DELAYS_MS": "[1000, 5000, 30000]"}
# Scenario 11 runs the retention rule at once (every other scenario never asks for erasure).
CHAOS_ENV = {**PRODUCTION_RETRIES, **erasure.ERASURE_ENV}
# Settings of one scenario's system only: scenario 8 lifts the rate limits (scenario 9
# tests them), so that its examples reach the views.
SCENARIO_ENV = {
    "schemathesis": security.SCHEMATHESIS_ENV,
    "round_close": round_close.ROUND_CLOSE_ENV,  # a real window notice, as in production
}

Scenario = Callable[[RunningSystem, Submitter, list[bytes]], Outcome]
# name -> (title, scenario, share of --count it submits). With the default --count 10000:
# 10,000 submissions in 1, 2,000 in 2 and 6, 3,000 bodies (the grade-1 ones, ~1,000) in 3,
# 200 in 4, 5 and 10, 20 in 9, 300 bodies (the grade-1 ones) in 11. Every scenario starts
# on a copy of one cluster the city was imported into once (`golden_cluster`). Estimated at
# 25-30 minutes on a quiet 2-core machine, from single runs on a loaded one (load average
# 5-10, 2026-11-25): scenario 1 about 10 minutes (notification's sending is the slowest
# part), 2 about 5, 8 about 4, 3 about 2, the other seven under a minute or two each, and
# the city import once. On a loaded machine pass a smaller --count.
SCENARIOS: dict[str, tuple[str, Scenario | None, float]] = {
    "kill_registration": (
        "1. kill -9 the registration service during submissions",
        scenarios.kill_registration,
        1.0,
    ),
    "restart_broker": (
        "2. restart the RabbitMQ broker 5 times under load",
        scenarios.restart_broker,
        0.2,
    ),
    "restart_postgres": (
        "3. restart PostgreSQL during a drain and during the allocate job",
        scenarios.restart_postgres,
        0.3,
    ),
    "poison": ("4. poison messages into every consumer", scenarios.poison, 0.02),
    "kill_notifier": (
        "5. kill the notifier after a send and before its record",
        scenarios.kill_notifier,
        0.02,
    ),
    "two_instances": ("6. two instances of every service", scenarios.two_instances, 0.2),
    "access_matrix": ("7. the access matrix", security.access_matrix, 0.0),
    "schemathesis": ("8. schemathesis, every check, authenticated", security.schemathesis, 0.0),
    "brute_force": ("9. brute-force login and login codes", scenarios.brute_force, 0.002),
    "citizen_ids": ("10. citizen IDs in logs and messages", scenarios.citizen_ids, 0.02),
    "erasure": ("11. withdrawal and erasure", erasure.erasure, 0.03),
    "round_close": (
        "12. close a round under load, with a backlog queued and a replica that missed it",
        round_close.round_close,
        0.3,
    ),
    # Starts its own system: three RabbitMQ nodes behind HAProxy (chaos/cluster.py).
    "cluster_nodes": (
        "13. kill and restart the RabbitMQ cluster's nodes in turn under load",
        None,
        1.0,
    ),
}


def golden_cluster() -> PrivatePostgres:
    """A stopped cluster whose databases are migrated and hold the demo city: each scenario
    starts on a file copy of it instead of importing the city again (a minute each)."""
    golden = PrivatePostgres().init()
    try:
        databases = {name: golden.create_database(name) for name in (*SERVICES, "gateway")}
        prepare_databases(databases, city_files())
        golden.prepared = {name: str(make_url(uri).database) for name, uri in databases.items()}
        golden.shut_down()
    except BaseException:
        golden.stop()
        raise
    return golden


def run_scenario(name: str, bodies: list[bytes], golden: PrivatePostgres | None = None) -> Outcome:
    """Run one scenario on a fresh system with its own database server and broker (a copy
    of `golden`, when given)."""
    _, scenario, _ = SCENARIOS[name]
    if name == "access_matrix":
        return security.access_matrix(None, None, bodies)  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory(prefix="chaos-") as scratch:
        postgres = PrivatePostgres.clone_of(golden) if golden else PrivatePostgres().init()
        rabbit = None
        try:
            if scenario is None:  # the cluster scenario starts its broker and system itself
                return chaos_cluster.run(Path(scratch), postgres, bodies, CHAOS_ENV)
            rabbit = PrivateRabbit(Path(scratch) / "rabbit").init()
            with running_system(
                Path(scratch) / "system",
                postgres=postgres,
                rabbit=rabbit,
                sms=True,
                extra_env={**CHAOS_ENV, **SCENARIO_ENV.get(name, {})},
            ) as system:
                return scenario(
                    system, scenarios.submitter(system, system.parent_headers()), bodies
                )
        finally:
            if rabbit is not None:
                rabbit.stop()
            postgres.stop()


def tidy_report(path: Path = RELIABILITY) -> None:
    """The current header, then one section per scenario in their order (any other dropped)."""
    text = path.read_text(encoding="utf-8")
    pattern = r"(<!-- bench:(\w+) -->.*?<!-- /bench:\2 -->\n)"
    sections = {name: section for section, name in re.findall(pattern, text, re.S)}
    kept = [sections[name] for name in SCENARIOS if name in sections]
    path.write_text(HEADER + "".join(f"\n{section}" for section in kept), encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    """Run the named scenarios (all by default) and write RELIABILITY.md."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("scenarios", nargs="*", help=", ".join(SCENARIOS))
    parser.add_argument("--count", type=int, default=10000)
    args = parser.parse_args(argv)
    # A SIGTERM (an impatient CI, `kill`) still stops the processes, cluster and node we started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    unknown = set(args.scenarios) - SCENARIOS.keys()
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    all_bodies = bodies_from(city_files() / "applications.jsonl")
    chosen = args.scenarios or list(SCENARIOS)
    golden = golden_cluster() if set(chosen) - {"access_matrix"} else None
    try:
        failed = _run_all(chosen, all_bodies, args.count, golden)
    finally:
        if golden is not None:
            golden.stop()
    tidy_report()
    if failed:
        raise SystemExit(f"scenarios failed: {', '.join(failed)}")


def _run_all(
    chosen: list[str], all_bodies: list[bytes], count_arg: int, golden: PrivatePostgres | None
) -> list[str]:
    """Run each scenario, write its section; the names of those that failed."""
    failed, offset = [], 0
    for name in chosen:
        title, _, share = SCENARIOS[name]
        count = int(count_arg * share)
        bodies = all_bodies[offset : offset + count]
        offset += count
        started = time.monotonic()
        outcome = run_scenario(name, bodies, golden)
        status = "PASS" if outcome.passed else "FAIL"
        body = f"**{status}**. {outcome.figures}."
        if outcome.verdict is not None:
            body += f"\n\nInvariants: {outcome.verdict.summary()}."
        body += "".join(f"\n\n{note}" for note in outcome.notes)
        body += f"\n\n({time.monotonic() - started:.0f} s.)"
        command = f"python -m chaos {name} --count {count_arg}"
        write_section(name, title, command, body, path=RELIABILITY, header=HEADER)
        print(f"{name}: {status}: {outcome.figures}", flush=True)
        if not outcome.passed:
            failed.append(name)
    return failed


if __name__ == "__main__":
    main()
