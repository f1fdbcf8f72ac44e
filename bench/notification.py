"""P5: notification deliveries per second to a local SMTP sink, at publish time.

Usage: python -m bench.notification [--count 20000] [--instances 1 2]

`--count` `seat_offered` events (what publishing a round emits, one per child) are published
to the real notification queue while the notifier is stopped; then the real notification
service starts (`nameko run`, beside a real registration service holding those applications
on PostgreSQL) and the clock runs until the ledger records every e-mail `sent`. Each event
is rendered (vi/en, text + HTML), stored in the inbox, claimed and settled in the ledger, and
handed to an aiosmtpd sink over SMTP. SMS is off for the measurement: the figure is e-mail
deliveries to the sink, as the issue states it. Baseline in the same run: the raw SMTP send
rate of one reused connection (smtplib, the same messages, nothing else). Each `--instances`
figure is a run of its own (fresh databases and queues): N notifiers compete for the same
queue, and the sink's count shows whether any e-mail went out twice.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shutil
import signal
import smtplib
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

from bench.report import table, write_section
from services.notification.delivery.channels import Outgoing
from services.notification.delivery.smtp import build_message
from services.notification.rendering.notices import notice_for
from services.notification.rendering.render import render_email
from services.registration.models import Application
from shared.contracts.envelope import make_message
from shared.db.engine import build_engine
from shared.messaging.bus import MessageBus
from tests.support.broker import create_vhost, delete_vhost
from tests.support.databases import create_database, drop_database
from tests.support.processes import BIN, ROOT, Processes, free_port, port_open
from tests.support.waiting import wait_for
from tools.topology import declare_all

COMMAND = "python -m bench.notification"
ROUND = "2027-grade_1"
DEADLINE = datetime(2027, 7, 20, 10, 0, tzinfo=UTC)
SENT = "SELECT count(*) FROM deliveries WHERE channel = 'email' AND status = 'sent'"
TARGET = 1000.0
CPU_TARGET_MS = 0.8  # notifier CPU per delivery (issue 16)
BASELINE_SENDS = 5000


def main(argv: list[str] | None = None) -> None:
    """Measure P5 and write its section of BENCHMARKS.md."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--instances", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--sink", type=int, help=argparse.SUPPRESS)  # run as the SMTP sink
    args = parser.parse_args(argv)
    if args.sink:
        _serve_sink(args.sink)
        return
    results = {n: _run(args.count, n) for n in args.instances}
    _write(args.count, results)


def _run(count: int, instances: int) -> dict[str, float]:
    amqp_uri = create_vhost()
    registration_db, notification_db = (
        create_database("registration"),
        create_database("notification"),
    )
    try:
        # The processes' logs stay in var/bench-notification/ for a look after the run.
        work = ROOT / "var" / "bench-notification" / f"{instances}-instances"
        shutil.rmtree(work, ignore_errors=True)
        return _measure(count, instances, amqp_uri, registration_db, notification_db, work)
    finally:
        drop_database(registration_db)
        drop_database(notification_db)
        delete_vhost(amqp_uri)


def _measure(
    count: int,
    instances: int,
    amqp_uri: str,
    registration_db: str,
    notification_db: str,
    work: Path,
) -> dict[str, float]:
    processes = Processes(work / "logs")
    port = free_port()
    processes.start(
        "smtp-sink", [str(BIN / "python"), "-m", "bench.notification", "--sink", str(port)], {}
    )
    wait_for(lambda: port_open(port), timeout=15, what="the SMTP sink")
    try:
        references = _applications(registration_db, count)
        baseline = _raw_smtp_rate(port, references[: min(BASELINE_SENDS, count)])
        declare_all(amqp_uri, [1000, 5000])
        bus = MessageBus(amqp_uri)
        for reference in references:
            payload = {
                "reference": reference,
                "round_id": ROUND,
                "school_code": "TH-0001",
                "preference_rank": 1,
                "deadline": DEADLINE,
            }
            bus.publish_event("allocation", make_message("seat_offered", payload))
        env = {"AMQP_URI": amqp_uri, "LOG_LEVEL": "WARNING"}
        processes.nameko("registration", {**env, "REGISTRATION_DB_URI": registration_db})
        started = time.perf_counter()
        notifier_env = {
            **env,
            "NOTIFICATION_DB_URI": notification_db,
            "SMTP_PORT": str(port),
            "SMS_TRANSPORT": "off",
        }
        notifiers = [
            processes.start(f"notification-{n}", _nameko("notification"), notifier_env).pid
            for n in range(instances)
        ]
        watched = {
            "notifier": notifiers,
            "sink": [processes.running["smtp-sink"].pid],
            "registration": [processes.running["registration"].pid],
        }
        first, first_count = _first_delivery(notification_db)
        cpu_before = {name: _cpu_seconds(pids) for name, pids in watched.items()}
        wait_for(lambda: _count(notification_db, SENT) >= count, timeout=3600, interval=0.2)
        ended = time.perf_counter()
        delivered_meanwhile = count - first_count
        cpu = {
            f"{name}_cpu_ms": 1000 * (_cpu_seconds(pids) - cpu_before[name]) / delivered_meanwhile
            for name, pids in watched.items()
        }
    finally:
        processes.stop_all()
    delivered = _sink_count(work / "logs")
    return {
        "rate": (count - first_count) / (ended - first),
        "overall": count / (ended - started),
        "startup": first - started,
        "baseline": baseline,
        "sink": float(delivered),
        # The sink counts every message it took: beyond the baseline's, one per event.
        "duplicates": float(delivered - min(BASELINE_SENDS, count) - count),
        "load": os.getloadavg()[0],
        **cpu,
    }


def _applications(db_uri: str, count: int) -> list[str]:
    """`count` verified applications in registration's database, half in each language."""
    now = datetime.now(UTC)
    rows = [
        {
            "reference": f"TSBENCH{n:011d}",
            "round_id": ROUND,
            "citizen_id": f"0012{n:08d}",
            "child_name": "Nguyễn Hoàng Phương Thảo",
            "date_of_birth": date(2021, 1, 1) + timedelta(days=n % 365),
            "preferences": ["TH-0001", "TH-0002", "TH-0003"],
            "guardian_name": "Nguyễn Thị Bích Ngọc",
            "guardian_phone": f"09{n:08d}",
            "guardian_email": f"parent{n}@example.com",
            "language": "vi" if n % 2 else "en",
            "status": "offered",
            "submitted_at": now,
            "updated_at": now,
        }
        for n in range(count)
    ]
    engine = build_engine(db_uri)
    with engine.begin() as connection:
        connection.execute(insert(Application), rows)
    engine.dispose()
    return [row["reference"] for row in rows]


def _raw_smtp_rate(port: int, references: list[str]) -> float:
    """E-mails a second over one reused smtplib connection: the same messages, prebuilt."""
    messages = []
    for reference in references:
        application = {
            "reference": reference,
            "round_id": ROUND,
            "preferences": ["TH-0001"],
            "child": {"full_name": "Nguyễn Hoàng Phương Thảo"},
            "guardian": {"full_name": "Nguyễn Thị Bích Ngọc", "language": "vi"},
        }
        payload = {"school_code": "TH-0001", "preference_rank": 1, "deadline": DEADLINE}
        notice = notice_for(reference, "seat_offered", payload, application)
        email = render_email(notice.template, notice.language, notice.context)
        outgoing = Outgoing("email", reference, notice.template, reference, "p@example.com", email)
        messages.append(build_message("tuyensinh@localhost", outgoing))
    with smtplib.SMTP("127.0.0.1", port) as client:
        started = time.perf_counter()
        for message in messages:
            client.send_message(message)
        return len(messages) / (time.perf_counter() - started)


def _first_delivery(db_uri: str) -> tuple[float, int]:
    # From the first recorded delivery: the figure is the steady rate, not process start-up.
    wait_for(lambda: _count(db_uri, SENT) > 0, timeout=120, interval=0.05)
    return time.perf_counter(), _count(db_uri, SENT)


def _cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system) the processes used so far, from /proc."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def _count(db_uri: str, sql: str) -> int:
    engine = build_engine(db_uri)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(sql)).scalar_one())
    finally:
        engine.dispose()


def _nameko(service: str) -> list[str]:
    config = f"services/{service}/config.yml"
    return [str(BIN / "nameko"), "run", "--config", config, f"services.{service}.service"]


class _CountingHandler:
    """Takes each message and counts it; nothing is written, so the sink is not the limit."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.count += 1
        return "250 Message accepted for delivery"


def _serve_sink(port: int) -> None:
    from aiosmtpd.controller import Controller

    handler = _CountingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()

    async def until_stopped() -> None:
        stopped = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopped.set)
        await stopped.wait()

    asyncio.run(until_stopped())
    controller.stop()
    print(f"sink accepted {handler.count}", flush=True)  # noqa: T201


def _sink_count(logs: Path) -> int:
    for line in (logs / "smtp-sink.log").read_text().splitlines():
        if line.startswith("sink accepted "):
            return int(line.removeprefix("sink accepted "))
    return -1


def _write(count: int, results: dict[int, dict[str, float]]) -> None:
    rows = []
    for instances, result in results.items():
        rate, cpu = result["rate"], result["notifier_cpu_ms"]
        pass_ = "PASS" if rate >= TARGET else "MISS"
        rows += [
            [
                f"notification, {instances} instance(s): e-mails delivered",
                f"{rate:,.0f}/s",
                f"≥ {TARGET:,.0f}/s",
                pass_,
            ],
            ["  the same, counting process start-up", f"{result['overall']:,.0f}/s", "", ""],
            [
                "  baseline in this run: raw SMTP sends over one reused connection",
                f"{result['baseline']:,.0f}/s",
                "",
                f"{rate / result['baseline']:.2f}×",
            ],
            [
                "  notifier CPU per delivery, all instances (what free cores would give)",
                f"{cpu:.2f} ms ({1000 / cpu:,.0f}/s a core)",
                f"≤ {CPU_TARGET_MS} ms",
                "PASS" if cpu <= CPU_TARGET_MS else "MISS",
            ],
            ["  aiosmtpd sink CPU per message", f"{result['sink_cpu_ms']:.2f} ms", "", ""],
            [
                "  registration CPU per event (its status update + the contact lookups)",
                f"{result['registration_cpu_ms']:.2f} ms",
                "",
                "",
            ],
            [
                "  e-mails the sink took twice",
                f"{result['duplicates']:.0f}",
                "0",
                "PASS" if result["duplicates"] == 0 else "FAIL",
            ],
            [
                "  250,000 offers at this rate",
                f"{250000 / rate / 60:.1f} min",
                "≤ 4 min",
                "PASS" if 250000 / rate <= 240 else "MISS",
            ],
        ]
    one = results[min(results)]
    floor = one["sink_cpu_ms"] + one["registration_cpu_ms"]
    body = table(["figure", "rate", "target", ""], rows)
    body += (
        f"\n\n{count:,} `seat_offered` events pre-filled while the notifier was stopped, per"
        " run; the rate runs from the first e-mail recorded `sent` in the ledger to the last."
        " Each event: one registration RPC per batch of 100 for the guardians' contacts, vi/en"
        " rendering (text + HTML), the inbox copy, the ledger's claim and record (PostgreSQL),"
        " SMTP to aiosmtpd over up to 10 pooled connections per instance. SMS off. Two"
        " instances compete for the one queue; the ledger's (event, channel) key is what keeps"
        " a redelivered event from being sent twice, and the sink's own count checks it."
        " Registration handles the same `seat_offered` events beside the notifier (it shows"
        " parents their status)."
        "\n\n**Why the target is missed, and what next.** 1,000/s does not fit on this"
        " machine, whatever the notifier does: it has 2 cores, shared with RabbitMQ,"
        " PostgreSQL and whatever else runs on it (load average"
        f" {one['load']:.1f} at the end), and the raw SMTP baseline itself reaches only"
        f" {one['baseline']:,.0f}/s. Per delivery the sink alone needs"
        f" {one['sink_cpu_ms']:.2f} ms of a core and registration {one['registration_cpu_ms']:.2f}"
        f" ms: {floor:.2f} ms, so at 1,000/s those two would take {floor:.1f} cores before the"
        f" notifier ({one['notifier_cpu_ms']:.2f} ms, {one['notifier_cpu_ms']:.1f} cores more),"
        " RabbitMQ or PostgreSQL get any. The notifier's CPU per delivery is the figure to"
        " read, and it swells with the machine's load (the sink's too, for the same work), so"
        " compare it back to back. This round (issue 16: ≤ 0.8 ms per delivery), 8,000 events,"
        " the code before and after it alternately on this machine at load average 3 to 8:"
        " before 0.92 and 0.85 ms (279/s and 308/s), after 0.51 and 0.55 ms (541/s and 500/s);"
        " at load average 1.7, before 0.77 ms (684/s), after 0.49 ms (796/s); the sink 0.34 to"
        " 0.37 ms throughout; two instances after it 0.62 ms, 0 e-mails twice."
        " Re-run in the afternoon (13:14) on a slower machine (the sink 0.54 ms a message,"
        " from 0.33; the raw SMTP baseline 799/s, from 1,136/s): 0.80 ms with one instance,"
        " 0.75 ms with two; the morning's code (9c34655) right after it, same machine: 0.89"
        " and 1.20 ms (its sink 0.57 and 0.71 ms). This table (16:22, the notifier unchanged"
        " since): 0.63 ms with one instance; with two, 1.06 ms, as two notifiers, the sink,"
        " registration and PostgreSQL shared 2 cores (the sink's own CPU per message rose"
        " from 0.44 to 0.65 ms, registration's from 0.43 to 0.62 ms); 0 e-mails twice in"
        " both. The SMS daily cap, not in this benchmark"
        " (SMS off), is now one lock statement and one count per chunk (see the sustained"
        " capacity)."
        " Done in this round, in the order of the profile: a chunk's ledger writes (the"
        " outcomes of the chunk before it, the inbox copies, the delivery rows, the per-minute"
        " counts) go to PostgreSQL as one string in one round trip, their timestamps as ISO"
        " text written once per value (`services/notification/delivery/writes.py`; Core's"
        " inserts of a batch's rows cost 8.4 ms of CPU per 100 events, this 3.4 ms; SQLite"
        " keeps Core); one read of a batch's existing rows instead of a locked read per chunk"
        " (a chunk whose events had no rows claims without it; a row a concurrent copy"
        " inserted since fails the insert on the (event, channel) key, and the chunk is"
        " claimed again event by event with the lock); the event contract read without"
        " marshmallow's machinery (`shared/contracts/reading.py`: a plan made once per"
        " contract from its own fields confirms the common case, 44 → 4 µs an event; anything"
        " else goes through `parse_message`, so a malformed body is still poison); a plain"
        " e-mail sent with `sendmail`'s dialogue minus smtplib parsing both addresses again"
        " (`smtp.send_plain`). Earlier rounds: the e-mail written straight as bytes from its"
        " one MIME layout, each e-mail rendered once per template, language and shape into a"
        " skeleton, a chunk's outcomes recorded in the commit that claims the next chunk, no"
        " pre-ping per checkout, one notice per channel for a receipt with its verdict,"
        " registration's outcome handler batched, the batch consumer, one `get_applications`"
        " call per batch, parallel sends over the SMTP pool. py-spy now (`py-spy record --gil"
        " -p <pid> -f raw` during this benchmark, samples holding the GIL): sending ~21 %"
        " (mostly smtplib waiting for each reply through eventlet), the ledger's chunk writes"
        " and commits ~18 %, the AMQP consumer ~13 % and its acks ~2 %, the batch's read of"
        " existing rows ~5 %, rendering ~3.5 %, reading the events ~2 %, the e-mail bytes"
        " ~2 %. Next: one `basic_ack(multiple=True)` per batch and less per-message work in"
        " the consumer (shared code: it needs the channel's every outstanding delivery tag"
        " tracked, since batches of several queues share one channel and a multiple ack must"
        " never cover a message still in work); SMTP PIPELINING where the server offers it"
        " (MAIL, RCPT and DATA in one write; aiosmtpd does not offer it); larger chunks per"
        " claim would now save little (each chunk costs one round trip and a commit), and"
        " above all a machine where the sink, PostgreSQL and the notifiers have cores of their"
        f" own: at this CPU per delivery, 1,000/s needs {math.ceil(one['notifier_cpu_ms'])}"
        " notifier instance(s) with a core each."
    )
    write_section("notification", "P5: notification throughput", COMMAND, body)
    print(body)  # noqa: T201


if __name__ == "__main__":
    main()
