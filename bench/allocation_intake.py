"""Allocation's copy of the applications: its consumer's CPU per event, pre-filled and trickled.

Usage: python -m bench.allocation_intake [--events 10000] [--rate 100] [--seconds 30]
    [--profile FILE]

A throwaway vhost and PostgreSQL database, one open round, the allocation service run as
its Procfile runs it. Pre-filled: N application_verified events (distinct applications)
published in one AMQP transaction, so the running consumer sees a full queue at once; CPU of
the service process from the commit until every application is stored. Trickle: `rate`
events a second for `seconds` (the sustained benchmark's case: small batches), CPU until
stored; `--profile` records it with py-spy (collapsed stacks). Idle CPU (the service's
timers) is measured first and reported beside it. Prints its figures; writes no report.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

from kombu import Connection
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.orm import Session

from bench.environment import cpu_seconds, load_average
from services.allocation.models import Round, VerifiedApplication
from shared import topology
from shared.contracts.envelope import make_message
from shared.messaging.bus import wire_message
from tests.support.broker import create_vhost, delete_vhost, queue_depth
from tests.support.databases import create_database, drop_database

ROUND = "2027-grade_1"
QUEUE = "allocation.on.applications"


def verified(n: int, tag: str) -> dict[str, Any]:
    """A realistic `application_verified` of application number `n`."""
    citizen = f"0012{n:08d}"
    return make_message(
        "application_verified",
        {
            "reference": f"TS{tag}{n:09d}",
            "round_id": ROUND,
            "citizen_id": citizen,
            "ward_code": f"{n % 50:05d}",
            "household_id": f"H{citizen}",
            "priority_category": None,
            "preferences": ["SCH-A", "SCH-B", "SCH-C"],
            "lat": 21.0 + n % 100 / 1000,
            "lon": 105.8 + n % 100 / 1000,
            "with_receipt": True,
            "late": False,
        },
    )


def publish(channel: Any, envelopes: list[dict[str, Any]]) -> None:
    """Publish as registration's outbox relay does (`shared.messaging.bus.wire_message`)."""
    key = topology.event_routing_key("registration", "application_verified")
    for envelope in envelopes:
        channel.basic_publish(wire_message(envelope), topology.EVENTS.name, key)


def stored(engine: Engine) -> int:
    """Applications in allocation's copy."""
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(VerifiedApplication)) or 0


def wait_stored(engine: Engine, expect: int, timeout: float = 600) -> float:
    """Wait until `expect` applications are stored; the monotonic instant they were."""
    deadline = time.monotonic() + timeout
    while stored(engine) < expect:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {stored(engine)} of {expect} stored")
        time.sleep(0.05)
    return time.monotonic()


def main() -> None:
    """Run both measurements on a throwaway vhost and database; print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10000)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--profile", help="py-spy's collapsed stacks of the trickle, to this file")
    args = parser.parse_args()
    amqp_uri = create_vhost()
    db_uri = create_database("allocation")
    engine = create_engine(db_uri)
    with Session(engine) as session, session.begin():
        now = datetime.now(UTC)
        session.add(
            Round(
                round_id=ROUND,
                level="grade_1",
                year=2027,
                status="open",
                created_at=now,
                opened_at=now,
                opens_at=now,
            )
        )
    env = {
        **os.environ,
        "AMQP_URI": amqp_uri,
        "ALLOCATION_DB_URI": db_uri,
        "ALLOCATION_METRICS_PORT": "0",
        "LOG_LEVEL": "WARNING",
    }
    service = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shared.nameko_run",
            "run",
            "--config",
            "services/allocation/config.yml",
            "services.allocation.service",
        ],
        env=env,
    )
    try:
        with Connection(amqp_uri) as connection:
            for _ in range(200):
                try:
                    queue_depth(amqp_uri, QUEUE)
                    break
                except Exception:
                    time.sleep(0.1)
            time.sleep(3)  # start-up done
            idle_start, t0 = cpu_seconds(service.pid), time.monotonic()
            time.sleep(10)
            idle = (cpu_seconds(service.pid) - idle_start) / (time.monotonic() - t0)

            channel = connection.channel()
            channel.tx_select()
            publish(channel, [verified(n, "P") for n in range(args.events)])
            before, t0 = cpu_seconds(service.pid), time.monotonic()
            channel.tx_commit()
            done = wait_stored(engine, args.events)
            filled_cpu = cpu_seconds(service.pid) - before
            filled_wall = done - t0

            time.sleep(2)
            channel = connection.channel()
            total = int(args.rate * args.seconds)
            spy = None
            if args.profile:
                spy = subprocess.Popen(
                    [
                        "py-spy",
                        "record",
                        "-p",
                        str(service.pid),
                        "-r",
                        "200",
                        "-d",
                        str(int(args.seconds)),
                        "-f",
                        "raw",
                        "-o",
                        args.profile,
                        "--nonblocking",
                        "--gil",
                    ]
                )
            before, t0 = cpu_seconds(service.pid), time.monotonic()
            for n in range(total):
                due = t0 + n / args.rate
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                publish(channel, [verified(n, "T")])
            done = wait_stored(engine, args.events + total)
            trickle_cpu = cpu_seconds(service.pid) - before
            trickle_wall = done - t0
            if spy is not None:
                spy.wait(60)
    finally:
        service.terminate()
        service.wait(30)
        engine.dispose()
        drop_database(db_uri)
        delete_vhost(amqp_uri)
    print(f"idle: {idle * 1000:.1f} ms CPU/s")
    print(
        f"pre-filled {args.events}: {filled_cpu * 1000 / args.events:.3f} ms CPU/event, "
        f"{args.events / filled_wall:.0f} events/s, wall {filled_wall:.1f} s"
    )
    print(
        f"trickle {total} at {args.rate:g}/s: {trickle_cpu * 1000 / total:.3f} ms CPU/event "
        f"(idle share {idle * trickle_wall * 1000 / total:.3f}), wall {trickle_wall:.1f} s"
    )
    print(f"load average: {load_average()}")


if __name__ == "__main__":
    main()
