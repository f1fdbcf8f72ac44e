"""P2: how fast registration drains a pre-filled queue of submissions, stored and verified.

Usage: python -m bench.drain [--count 10000]

The queue is filled while registration is stopped (as after an opening-morning burst), then
1 and then 2 instances start; the clock runs from their first committed batch until every
application is verified or rejected. Baseline in the same run: a bare kombu consumer that
only acks, on the same queue.
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from kombu import Connection

from bench.environment import cpu_seconds, load_average
from bench.loadgen import bodies_from
from bench.report import table, write_section
from gateway.references import application_reference
from gateway.schemas import SubmitApplicationRequest
from services.registration.register.csv_import import import_register
from shared import topology
from shared.contracts.envelope import make_message
from shared.db.engine import build_engine
from shared.messaging.bus import MessageBus, PipelinedPublisher
from tests.support.broker import create_vhost, delete_vhost
from tests.support.databases import create_database, drop_database
from tests.support.processes import Processes
from tests.support.system import city_files
from tests.support.waiting import wait_for
from tools.topology import declare_all

COMMAND = "python -m bench.drain"
QUEUE = "registration.submit_application"
PROFILE = """\
What the profile showed and what was done (py-spy on one instance draining 10,000):
before, each application was inserted and then updated with its verdict (the checks'
queries autoflushed the batch; the UPDATEs were 11 % of the time) and only one 200-message
batch was in flight (prefetch 250). Now the checks run under `no_autoflush` (one INSERT
per application, verdict included) and the prefetch is 1,000, so batches overlap: CPU per
application fell from 1.8 ms to 1.2 ms. What is left is spread out: validating the incoming
envelope and payload (marshmallow, 16 %), the ORM flush of the batch (14 %), the outbox
relay publishing two events per application (12 %), AMQP frames in and out (15 %),
validating the outgoing events (7 %). Next steps: a Core bulk insert of the applications
(skipping the ORM's per-object bookkeeping), a leaner envelope check for commands the
gateway already validated, and running the relay in a process of its own, so two
instances on two cores do not also carry the relay's work."""
CHECKED = "SELECT count(*) FROM applications WHERE status IN ('verified', 'rejected')"


def _count(db_uri: str, sql: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(db_uri)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(sql)).scalar_one())
    finally:
        engine.dispose()


def _fill(amqp_uri: str, bodies: list[bytes]) -> None:
    """Queue one `submit_application` command per body, as the gateway would (1,000 in
    flight at a time: filling is set-up, not what is measured)."""
    schema = SubmitApplicationRequest()
    queue = topology.command_queue("registration", "submit_application").name
    publisher = PipelinedPublisher(amqp_uri)
    try:
        for start in range(0, len(bodies), 1000):
            batch = []
            for body in bodies[start : start + 1000]:
                form = schema.load(json.loads(body))
                round_id, citizen_id = form["round_id"], form["child"]["citizen_id"]
                reference = application_reference("bench", round_id, citizen_id)
                payload = {**form, "reference": reference, "submitted_at": datetime.now(UTC)}
                command = make_message("submit_application", payload)
                batch.append((topology.COMMANDS.name, queue, command))
            publisher.publish(batch)
    finally:
        publisher.close()


def _bare_consume(amqp_uri: str, count: int) -> float:
    """Messages per second a consumer that does nothing but ack takes off the queue."""
    taken = 0
    with Connection(amqp_uri) as connection:
        queue = topology.command_queue("registration", "submit_application")

        def on_message(body: object, message: object) -> None:
            nonlocal taken
            message.ack()  # type: ignore[attr-defined]
            taken += 1

        with connection.Consumer(queue, callbacks=[on_message], prefetch_count=100):
            started = time.perf_counter()
            while taken < count:
                connection.drain_events(timeout=10)
            return count / (time.perf_counter() - started)


def _prepare(amqp_uri: str, db_uri: str, workdir: Path) -> None:
    city = city_files()
    engine = build_engine(db_uri)
    import_register(engine, city / "register.csv", progress=False)
    engine.dispose()
    declare_all(amqp_uri, [500, 2000])
    bus = MessageBus(amqp_uri)
    with open(city / "schools.csv", encoding="utf-8") as handle:
        schools = [{"code": r["code"], "level": r["level"]} for r in csv.DictReader(handle)]
    processes = Processes(workdir / "prepare")
    processes.nameko("registration", {"AMQP_URI": amqp_uri, "REGISTRATION_DB_URI": db_uri})
    bus.publish_event("allocation", make_message("school_directory_updated", {"schools": schools}))
    for level in ("kindergarten", "grade_1", "grade_6"):
        payload = {"round_id": f"2027-{level}", "level": level, "year": 2027, "max_preferences": 3}
        bus.publish_event("allocation", make_message("round_opened", payload))
    wait_for(lambda: _count(db_uri, "SELECT count(*) FROM rounds") == 3, what="the rounds")
    wait_for(lambda: _count(db_uri, "SELECT count(*) FROM schools") > 0, what="the schools")
    processes.stop_all()


def _drain(
    amqp_uri: str, db_uri: str, workdir: Path, instances: int, target: int
) -> tuple[float, float]:
    """(applications checked per second, CPU milliseconds per application) of `instances`,
    from their first committed batch (start-up is not counted) until `target` are checked."""
    processes = Processes(workdir / f"drain-{instances}")
    env = {"AMQP_URI": amqp_uri, "REGISTRATION_DB_URI": db_uri, "LOG_LEVEL": "WARNING"}
    before = _count(db_uri, CHECKED)
    pids = [processes.start(f"registration-{n}", _nameko_args(), env).pid for n in range(instances)]
    try:
        wait_for(lambda: _count(db_uri, CHECKED) > before, timeout=120, interval=0.05)
        started, first = time.perf_counter(), _count(db_uri, CHECKED)
        cpu = sum(cpu_seconds(pid) for pid in pids)
        wait_for(lambda: _count(db_uri, CHECKED) >= target, timeout=1800, interval=0.5)
        done = _count(db_uri, CHECKED) - first
        cpu = sum(cpu_seconds(pid) for pid in pids) - cpu
        return done / (time.perf_counter() - started), cpu * 1000 / done
    finally:
        processes.stop_all()


def _nameko_args() -> list[str]:
    from tests.support.processes import BIN

    config = "services/registration/config.yml"
    return [str(BIN / "nameko"), "run", "--config", config, "services.registration.service"]


def main(argv: list[str] | None = None) -> None:
    """Measure P2 and write its section of BENCHMARKS.md."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=10000)
    args = parser.parse_args(argv)
    bodies = bodies_from(city_files() / "applications.jsonl", limit=3 * args.count)
    amqp_uri, db_uri = create_vhost(), create_database("registration")
    rates: dict[str, float] = {}
    cpu: dict[str, float] = {}
    load = load_average()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            workdir = Path(scratch)
            _prepare(amqp_uri, db_uri, workdir)
            _fill(amqp_uri, bodies[: args.count])
            rates["bare"] = _bare_consume(amqp_uri, args.count)
            for instances, chunk in ((1, 1), (2, 2)):
                _fill(amqp_uri, bodies[chunk * args.count : (chunk + 1) * args.count])
                target = chunk * args.count
                rates[f"{instances}"], cpu[f"{instances}"] = _drain(
                    amqp_uri, db_uri, workdir, instances, target
                )
            checked = _count(db_uri, CHECKED)
            stored = _count(db_uri, "SELECT count(*) FROM applications")
    finally:
        drop_database(db_uri)
        delete_vhost(amqp_uri)
    _write(args.count, rates, cpu, checked, stored, load)


def _write(
    count: int,
    rates: dict[str, float],
    cpu: dict[str, float],
    checked: int,
    stored: int,
    load: str,
) -> None:
    def mark(rate: float) -> str:
        return "PASS" if rate >= 1000 else "MISS"

    def per_core(instances: str) -> str:
        return f"{cpu[instances]:.2f} ms ({1000 / cpu[instances]:,.0f}/s per core)"

    rows = [
        [
            "registration, 1 instance: stored + verified",
            f"{rates['1']:,.0f}/s",
            per_core("1"),
            "≥ 1,000/s",
            mark(rates["1"]),
        ],
        [
            "registration, 2 instances (competing consumers)",
            f"{rates['2']:,.0f}/s",
            per_core("2"),
            "≥ 1,000/s",
            mark(rates["2"]),
        ],
        ["  baseline: bare consume + ack, same queue", f"{rates['bare']:,.0f}/s", "", "", ""],
        ["  2 instances ÷ baseline", f"{rates['2'] / rates['bare']:.2f}×", "", "", ""],
        [
            "  250,000 backlog at the 2-instance rate",
            f"{250000 / rates['2'] / 60:.1f} min",
            "",
            "≤ 4 min",
            "PASS" if 250000 / rates["2"] <= 240 else "MISS",
        ],
    ]
    body = table(["figure", "rate", "CPU per application", "target", ""], rows)
    body += (
        f"\n\n{count:,} submissions pre-filled per measurement while registration was stopped;"
        " the clock runs from the first batch the instances commit (their start-up is left"
        " out) until every application is verified or rejected against the city register"
        f" (980k rows) on PostgreSQL. At the end {stored:,} applications were stored and"
        f" {checked:,} checked, of {2 * count:,} sent to them. CPU per application: user +"
        " system time of the registration processes over the same span (PostgreSQL's and"
        f" RabbitMQ's own work not included). Load average at the start: {load}."
    )
    body += "\n\n" + PROFILE
    write_section("drain", "P2: registration drain", COMMAND, body)
    print(body)


if __name__ == "__main__":
    main()
