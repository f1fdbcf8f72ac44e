"""The capacity model: cores per tier for 500, 2,000 and 10,000 submissions a second, and for
the mixed traffic of an opening morning, from the CPU per request the benchmarks measured.

Usage: python -m bench.capacity_model

Nothing is measured here: the figures below are copied from the sections of BENCHMARKS.md
named beside each (measured), and the arithmetic is done once, here, so the README and
BENCHMARKS.md show the same table. The mix of an opening morning (how many look-ups,
logins and status polls come with each submission) is an assumption, stated as one: there
is no production traffic to measure yet.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

from bench.report import table, write_section

COMMAND = "python -m bench.capacity_model"
RATES = (500, 2_000, 10_000)  # submissions a second
UTILISATION = 0.6  # plan each tier at 60 % of its cores: bursts, and one node or replica lost


@dataclass(frozen=True)
class Cost:
    """CPU milliseconds one request of a kind costs a tier, and where the figure comes from."""

    ms: float
    source: str


# CPU per submission (202), by tier. "Cluster intake" is bench.cluster_intake's run of
# 2026-12-07 10:10 on a quiet machine (P1, 2 replicas, per 202, load average ~3 from the run
# itself): 3 RabbitMQ nodes, HAProxy, two replicas and the services on 2 cores. RabbitMQ's
# figure is an upper bound (Erlang's schedulers spin while waiting, and that counts as CPU).
# "P5" is bench.notification's run of 10:16 (one instance, per delivery).
SUBMISSION = {
    "HAProxy (HTTP and every AMQP connection)": Cost(0.32, "cluster intake, P1"),
    "gateway": Cost(2.51, "cluster intake, P1"),
    "registration": Cost(1.49, "cluster intake, P1"),
    "allocation": Cost(1.89, "cluster intake, P1"),
    "notification": Cost(2 * 0.48, "P5 per delivery × 2 (receipt by e-mail and by SMS)"),
    "RabbitMQ (3 nodes together)": Cost(4.78, "cluster intake, P1 (upper bound)"),
    "PostgreSQL (backends)": Cost(0.60, "cluster intake, P1"),
}
# Other requests of an opening morning: (how many per submission, tier -> CPU ms, source).
# The counts are assumed; the costs are the cluster intake run's GETs (per request).
MIX = {
    "home page from HAProxy's cache": (
        5,
        {"HAProxy (HTTP and every AMQP connection)": 0.02},
        "cluster intake, GETs",
    ),
    "catchment page from the cache": (
        3,
        {"HAProxy (HTTP and every AMQP connection)": 0.03},
        "cluster intake, GETs",
    ),
    "login (argon2id, 19 MiB, 2 passes)": (1, {"gateway": 30.0}, "argon2 verify in process"),
    "status poll, signed in": (
        10,
        {"HAProxy (HTTP and every AMQP connection)": 0.60, "gateway": 3.81, "registration": 1.0},
        "cluster intake, GETs (HAProxy, gateway); registration 1 ms assumed",
    ),
}


def cores(ms_per_second: float) -> int:
    """Cores for `ms_per_second` of CPU at the planned utilisation (at least 1)."""
    return max(1, math.ceil(ms_per_second / 1000 / UTILISATION))


def submissions_only() -> list[list[str]]:
    """Rows: tier, its cost per submission, cores at each rate."""
    return [
        [tier, f"{cost.ms:.2f} ms", *(str(cores(rate * cost.ms)) for rate in RATES), cost.source]
        for tier, cost in SUBMISSION.items()
    ]


def mixed() -> list[list[str]]:
    """Rows: tier, cores at each rate of submissions with the morning's mix around them."""
    rows = []
    for tier, cost in SUBMISSION.items():
        per_submission = cost.ms + sum(
            count * costs.get(tier, 0.0) for count, costs, _ in MIX.values()
        )
        counts = (str(cores(rate * per_submission)) for rate in RATES)
        rows.append([tier, f"{per_submission:.2f} ms", *counts])
    return rows


def summary() -> str:
    """One table for the README: cores per tier for submissions alone and with the mix."""
    alone, mix = submissions_only(), mixed()
    rates = [f"{rate:,}/s" for rate in RATES]
    rows = [[a[0], *a[2:5], *m[2:5]] for a, m in zip(alone, mix, strict=True)]
    header = ["cores", *rates, *(f"{rate}, opening-morning mix" for rate in rates)]
    return table(header, rows)


def connections(rate: int) -> str:
    """The PostgreSQL connection budget at `rate`, without and with PgBouncer."""
    workers = 2 * cores(rate * SUBMISSION["gateway"].ms)  # 2 gevent workers a core
    instances = sum(cores(rate * SUBMISSION[s].ms) for s in ("registration", "allocation"))
    instances += cores(rate * SUBMISSION["notification"].ms)
    direct = 20 * (workers + instances)  # pool 10 + overflow 10 per process
    return f"{direct:,} direct; through PgBouncer {4 * 40:,} server connections"


def body() -> str:
    """The section: both tables, the sources, the connection budget, what is extrapolated."""
    rates = [f"{rate:,}/s" for rate in RATES]
    text = table(["tier", "CPU per submission", *rates, "measured in"], submissions_only())
    text += "\n\n" + table(["tier (opening-morning mix)", "CPU per submission", *rates], mixed())
    mix = "; ".join(f"{n} × {what} ({src})" for what, (n, _, src) in MIX.items())
    budget = "; ".join(f"{rate:,}/s: {connections(rate)}" for rate in RATES)
    return (
        f"{text}\n\nCores at {UTILISATION:.0%} utilisation. The mix around each submission"
        f" (assumed): {mix}. PostgreSQL connection budget (each process's pool: 10 and as"
        f" many overflow; PgBouncer in transaction mode, at most 40 server connections for"
        f" each of the four databases): {budget}."
    )


def main(argv: list[str] | None = None) -> None:
    """Write the capacity section of BENCHMARKS.md."""
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args(argv)
    write_section("capacity_model", "Capacity model", COMMAND, body())
    print(body())


if __name__ == "__main__":
    main()
