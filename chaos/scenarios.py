"""Fault and attack scenarios against the real processes: each breaks something on purpose,
then the invariants are checked on what the databases, the broker and the sinks hold."""

from __future__ import annotations

import itertools
import json
import random
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from kombu import Connection, Exchange, Queue

from bench.loadgen import LoadResult, closed_loop, run
from chaos.invariants import Sinks, Verdict, check, queue_depths, rows
from services.notification.delivery.sms import normalise_phone
from shared import topology
from shared.messaging.bus import MessageBus
from tests.support.accounts import DEPARTMENT, PARENT, account_row, credentials, make_account
from tests.support.system import RunningSystem
from tools.topology import handlers

Submitter = Callable[[list[bytes]], LoadResult]
# Twelve digits standing alone: not inside a longer number, nor a hex run such as a UUID's
# last group (which is all digits about once in 300 UUIDs).
CITIZEN_ID = re.compile(rb"(?<![0-9A-Fa-f-])\d{12}(?![0-9A-Fa-f-])")


@dataclass
class Outcome:
    """A scenario's figures and the invariants' verdict."""

    name: str
    figures: str
    verdict: Verdict | None = None
    ok: bool = True  # for scenarios judged by their own figures (security), with no verdict
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether the scenario met its target."""
        return self.ok and (self.verdict is None or self.verdict.ok)


def submitter(system: RunningSystem, headers: dict[str, str], concurrency: int = 32) -> Submitter:
    """Sends each body once through the gateway and keeps what was answered."""
    url = f"{system.url}/api/v1/applications"

    def submit(bodies: list[bytes]) -> LoadResult:
        return run(
            closed_loop(url, bodies, concurrency=concurrency, duration=3600, headers=headers)
        )

    return submit


def settle(system: RunningSystem, answered: set[str], timeout: float, **expect: Any) -> Verdict:
    """Check the invariants until they hold or the window passes; the last verdict.

    The window is `timeout`, or longer for a large run: every application brings its
    notices (the receipt, with its verdict, by e-mail and SMS) that notification sends at its
    own pace, some 15 applications a second on a busy 2-core machine; 0.1 s each is room.
    """
    deadline = time.monotonic() + max(timeout, 0.1 * len(answered))
    sinks = Sinks(system.maildir, system.sms_outbox)
    while True:
        # While messages are still queued (work or delay queues) the invariants cannot hold
        # yet: ask the broker, which is cheap, before reading every database and the sinks.
        if time.monotonic() <= deadline and _still_queued(system):
            time.sleep(1)
            continue
        verdict = check(system, answered, sinks=sinks, **expect)
        if verdict.ok or time.monotonic() > deadline:
            return verdict
        time.sleep(1)


def _still_queued(system: RunningSystem) -> bool:
    """Whether a work or delay queue holds messages (dead-letter queues and taps aside)."""
    try:
        depths = queue_depths(system.management, system.amqp_uri)
    except requests.RequestException:
        return True  # the broker is restarting: certainly not settled
    return any(
        n
        for name, n in depths.items()
        if not name.endswith(".dead") and not name.startswith("test.")
    )


def _statuses(result: LoadResult) -> str:
    return ", ".join(f"{status}: {n:,}" for status, n in sorted(result.statuses.items()))


def _in_background(submit: Submitter, bodies: list[bytes]) -> tuple[threading.Thread, list[Any]]:
    result: list[LoadResult] = []
    load = threading.Thread(target=lambda: result.append(submit(bodies)), daemon=True)
    load.start()
    return load, result


# -- 1. kill -9 registration ----------------------------------------------------------------


def kill_registration(
    system: RunningSystem, submit: Submitter, bodies: list[bytes], kills: int = 5, seed: int = 9
) -> Outcome:
    """Scenario 1: `kill -9` registration at random moments during the submissions."""
    rng = random.Random(seed)
    load, result = _in_background(submit, bodies)
    done = 0
    while done < kills and (load.is_alive() or done == 0):
        time.sleep(rng.uniform(1.0, 4.0))
        system.kill("registration")
        time.sleep(rng.uniform(0.2, 1.5))
        system.start_service("registration")
        done += 1
    load.join()
    verdict = settle(system, set(result[0].references), timeout=600)
    figures = (
        f"{len(bodies):,} submissions ({_statuses(result[0])}), registration killed with"
        f" SIGKILL {done} times and restarted"
    )
    return Outcome("kill_registration", figures, verdict)


# -- 2. restart the broker ------------------------------------------------------------------


def restart_broker(
    system: RunningSystem, submit: Submitter, bodies: list[bytes], restarts: int = 5
) -> Outcome:
    """Scenario 2: SIGKILL and restart the (private) RabbitMQ node under load, 5 times."""
    assert system.rabbit is not None, "the broker scenario needs a private RabbitMQ node"
    stop = threading.Event()
    results: list[LoadResult] = []
    # Until the last restart is over, however fast the system is.
    loader = threading.Thread(target=paced_load, args=(submit, bodies, stop, results), daemon=True)
    loader.start()
    done, downtime = 0, 0.0
    while done < restarts:
        time.sleep(3)
        started = time.monotonic()
        system.rabbit.restart(down=2.0)
        downtime += time.monotonic() - started
        done += 1
    stop.set()
    loader.join()
    under_load = LoadResult(statuses=sum((r.statuses for r in results), Counter()))
    under_load.references = [ref for r in results for ref in r.references]
    # Everybody must have reconnected on their own: one more round of submissions after the
    # last restart has to go through the gateway, registration and notification.
    time.sleep(5)
    after = submit([fresh_child(body) for body in bodies[:50]])
    answered = set(under_load.references) | set(after.references)
    verdict = settle(system, answered, timeout=600)
    alive = [name for name, process in system.processes.running.items() if process.poll() is None]
    figures = (
        f"{sum(under_load.statuses.values()):,} submissions ({_statuses(under_load)}),"
        f" RabbitMQ SIGKILLed and restarted {done} times ({downtime:.0f} s without a broker"
        f" in all); 50 submissions after the last restart: {_statuses(after)}; processes"
        f" still running: {len(alive)}/{len(system.processes.running)}"
    )
    ok = len(after.references) == 50 and len(alive) == len(system.processes.running)
    return Outcome("restart_broker", figures, verdict, ok=ok)


def paced_load(
    submit: Submitter, bodies: list[bytes], stop: threading.Event, out: list[LoadResult]
) -> None:
    """50 at a time, paced, then the same forms again for new children once the bodies run
    out, until `stop` is set; each chunk's result goes to `out`."""
    for round_ in itertools.count():
        for start in range(0, len(bodies), 50):
            if stop.is_set():
                return
            chunk = bodies[start : start + 50]
            out.append(submit(chunk if round_ == 0 else [fresh_child(b) for b in chunk]))
            time.sleep(0.2)


def fresh_child(body: bytes) -> bytes:
    # The same form for another child: a new citizen ID not in the register (it is rejected,
    # which is an outcome like any other).
    form = json.loads(body)
    form["child"]["citizen_id"] = f"{random.randrange(10**11, 10**12):012d}"
    return json.dumps(form).encode()


# -- 3. restart PostgreSQL ------------------------------------------------------------------

ROUND = "2027-grade_1"


def restart_postgres(system: RunningSystem, submit: Submitter, bodies: list[bytes]) -> Outcome:
    """Scenario 3: crash and restart the (private) PostgreSQL cluster during the drain of the
    submissions and during the allocate job; the job completes or fails cleanly and re-runs."""
    pg = system.postgres
    assert pg is not None, "the database scenario needs a private PostgreSQL cluster"
    department = system.headers_of(DEPARTMENT)
    grade_1 = [body for body in bodies if json.loads(body)["round_id"] == ROUND]
    load, result = _in_background(submit, grade_1)
    time.sleep(4)
    pg.restart(down=2.0)  # during the drain: registration is storing and checking
    load.join()
    answered = set(result[0].references)
    verdict = settle(system, answered, timeout=600)
    rounds = f"{system.url}/api/v1/rounds/{ROUND}"
    closed = _until(lambda: _post(f"{rounds}/close", department).status_code == 200, 120)
    # Allocate, crashing the database while the job runs; re-run it until it completes.
    attempts, crashed_during = 0, []
    while attempts < 5:
        attempts += 1
        _until(lambda: _post(f"{rounds}/allocate", department).status_code == 202, 300)
        if attempts == 1:
            pg.restart(down=2.0)  # at once: a small round's job takes well under a second
            crashed_during.append(str(_round(rounds, department).get("job")))
        finished = _until(lambda: _round(rounds, department).get("job") is None, 300)
        state = _round(rounds, department)
        if finished and state.get("status") == "allocated":
            break
    state = _round(rounds, department)
    over = _over_capacity(system)
    applicants = rows(
        system.databases["allocation"],
        f"SELECT count(*) FROM applications WHERE round_id = '{ROUND}' AND state = 'verified'",
    )[0][0]
    waited = _outage_retries(system)
    figures = (
        f"{len(grade_1):,} submissions ({_statuses(result[0])}); PostgreSQL SIGKILLed and"
        f" restarted during the drain, and again as soon as the allocate job was queued (job"
        f" right after the restart: {crashed_during[0]}); round closed: {closed}; allocate"
        f" requested {attempts} times, round now {state.get('status')} (job error:"
        f" {state.get('job_error')}); {applicants:,} verified applications in allocation;"
        f" schools over capacity: {over}; messages retried while the database was away, by"
        f" service (no retry spent): {waited}"
    )
    ok = closed and state.get("status") == "allocated" and over == 0
    return Outcome("restart_postgres", figures, verdict, ok=ok)


def _outage_retries(system: RunningSystem) -> dict[str, int]:
    """Per process, the failed messages sent round again because the database was away."""
    return {
        path.stem: path.read_text(errors="replace").count("database unavailable, retry")
        for path in sorted((system.workdir / "logs").glob("*.log"))
        if path.stem in ("registration", "allocation", "notification")
    }


def _post(url: str, headers: dict[str, str]) -> requests.Response:
    try:
        return requests.post(url, headers=headers, timeout=30)
    except requests.RequestException:
        response = requests.Response()
        response.status_code = 599
        return response


def _round(url: str, headers: dict[str, str]) -> dict[str, Any]:
    try:
        answer = requests.get(url, headers=headers, timeout=30)
    except requests.RequestException:
        return {"job": "?"}
    return dict(answer.json()) if answer.status_code == 200 else {"job": "?"}


def _until(probe: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return True
        time.sleep(1)
    return False


def _over_capacity(system: RunningSystem) -> int:
    """Schools given more seats in a round than the round allows them."""
    sql = (
        "SELECT count(*) FROM round_schools rs JOIN (SELECT round_id, school_code, count(*) AS n"
        " FROM placements WHERE school_code IS NOT NULL GROUP BY round_id, school_code) given"
        " ON given.round_id = rs.round_id AND given.school_code = rs.school_code"
        " WHERE given.n > rs.capacity"
    )
    return int(rows(system.databases["allocation"], sql)[0][0])


# -- 4. poison ------------------------------------------------------------------------------


def poison(
    system: RunningSystem, submit: Submitter, bodies: list[bytes], per_queue: int = 100
) -> Outcome:
    """Scenario 4: malformed messages into every consumer's queue, beside good traffic."""
    bus = MessageBus(system.amqp_uri)
    queues = [handler.queue_name for handler in handlers()]
    load, result = _in_background(submit, bodies)
    started = time.monotonic()
    for n in range(per_queue):
        for name in queues:
            garbage = {"event_id": f"poison-{n}", "type": "nonsense", "payload": n}
            bus._publisher.publish(garbage, exchange="", routing_key=name, mandatory=True)
    load.join()
    dead = per_queue * len(queues)
    verdict = settle(system, set(result[0].references), timeout=300, expected_dead=dead)
    seconds = time.monotonic() - started
    per_dead = sorted(set(verdict.dead.values()))
    figures = (
        f"{per_queue} poison messages into each of {len(queues)} queues beside"
        f" {len(bodies):,} good submissions ({_statuses(result[0])}); dead-letter counts per"
        f" queue: {per_dead}; everything settled {seconds:.0f} s after the first poison"
    )
    return Outcome("poison", figures, verdict)


# -- 5. kill the notifier between send and record -------------------------------------------


def kill_notifier(
    system: RunningSystem, submit: Submitter, bodies: list[bytes], kills: int = 5, seed: int = 5
) -> Outcome:
    """Scenario 5: SIGKILL notification while sends are in flight. The SMS provider (the
    sink) records each text, then holds its answer for a second: every kill lands on sends
    the provider took and the service has not yet recorded."""
    control = system.env["SMS_URL"].rsplit("/", 1)[0] + "/control"
    requests.post(control, json={"delay_seconds": 1.0}, timeout=10).raise_for_status()
    rng = random.Random(seed)
    load, result = _in_background(submit, bodies)
    done = 0
    while done < kills and (load.is_alive() or done == 0):
        time.sleep(rng.uniform(1.0, 3.0))
        _text_just_taken(system)  # the provider holds its answer: a send is in flight
        system.kill("notification")
        time.sleep(rng.uniform(0.2, 1.0))
        system.start_service("notification")
        done += 1
    load.join()
    requests.post(control, json={"delay_seconds": 0.0}, timeout=10).raise_for_status()
    verdict = settle(system, set(result[0].references), timeout=600, allow_uncertain=True)
    figures = (
        f"{len(bodies):,} submissions ({_statuses(result[0])}), notification killed with"
        f" SIGKILL {done} times while the SMS provider held its answers; sends interrupted"
        f" after the hand-over are recorded `uncertain` and never sent again"
    )
    return Outcome("kill_notifier", figures, verdict)


def _text_just_taken(system: RunningSystem, timeout: float = 30.0) -> None:
    """Wait until the SMS sink takes another text (it then holds its answer a second)."""
    size = system.sms_outbox.stat().st_size if system.sms_outbox.exists() else 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if system.sms_outbox.exists() and system.sms_outbox.stat().st_size > size:
            return
        time.sleep(0.02)


# -- 6. two instances -----------------------------------------------------------------------


def two_instances(system: RunningSystem, submit: Submitter, bodies: list[bytes]) -> Outcome:
    """Scenario 6: a second instance of every service competes for the same queues."""
    for service in ("registration", "allocation", "notification"):
        system.start_service(service, f"{service}-2")
    time.sleep(3)
    result = submit(bodies)
    verdict = settle(system, set(result.references), timeout=600)
    figures = (
        f"{len(bodies):,} submissions ({_statuses(result)}) with two instances of every service"
    )
    return Outcome("two_instances", figures, verdict)


# -- 9. brute force -------------------------------------------------------------------------


def brute_force(system: RunningSystem, submit: Submitter, bodies: list[bytes]) -> Outcome:
    """Scenario 9: password and code guessing is answered 429; texts to one phone stay capped."""
    api = f"{system.url}/api/v1/auth"
    db = system.databases["gateway"]
    account = make_account(db, PARENT)
    phone = account_row(db, account).phone
    wrong = [
        requests.post(f"{api}/token", json={"phone": phone, "password": f"guess {n}"}, timeout=10)
        for n in range(40)
    ]
    right = requests.post(f"{api}/token", json=credentials(db, account), timeout=10)
    codes = [
        requests.post(f"{api}/token", json={"phone": phone, "code": f"{n:06d}"}, timeout=10)
        for n in range(40)
    ]
    other = make_account(db, PARENT)
    other_phone = account_row(db, other).phone
    asks = [
        requests.post(f"{api}/code", json={"phone": other_phone}, timeout=30).status_code
        for _ in range(20)
    ]
    time.sleep(3)
    texts = _texts_to(system, other_phone)
    # Notification SMS: more applications by one guardian, one phone, on one day than the
    # daily cap allows texts (each gets one notice: its receipt, which carries the verdict).
    cap = int(system.env.get("SMS_DAILY_CAP", "10"))
    assert len(bodies) > cap, f"brute_force needs more than {cap} applications"
    one_phone = []
    for body in bodies:
        form = json.loads(body)
        form["guardian"]["phone"] = "0987654321"
        one_phone.append(json.dumps(form).encode())
    result = submit(one_phone)
    sms_rows = "SELECT count(*) FROM deliveries WHERE channel = 'sms' AND status <> 'sending'"
    settled = _until(lambda: system.count("notification", sms_rows) >= len(one_phone), 300)
    notices = len(_texts_to(system, "0987654321"))
    first_429 = next((n + 1 for n, a in enumerate(wrong) if a.status_code == 429), None)
    first_code_429 = next((n + 1 for n, a in enumerate(codes) if a.status_code == 429), None)
    wrong_statuses = Counter(a.status_code for a in wrong)
    code_statuses = Counter(a.status_code for a in codes)
    figures = (
        f"40 wrong passwords for one phone: {dict(wrong_statuses)}, first 429 at attempt"
        f" {first_429}; the right password right after: {right.status_code}; 40 guessed login"
        f" codes: {dict(code_statuses)}, first 429 at {first_code_429}; 20 code requests for"
        f" one phone: {dict(Counter(asks))}, texts that reached the phone: {len(texts)};"
        f" {len(one_phone)} applications by one guardian ({_statuses(result)}, {len(one_phone)}"
        f" notification SMS due, all settled: {settled}): {notices} reached the phone (daily"
        f" cap {cap} SMS per phone)"
    )
    ok = (
        first_429 is not None
        and first_429 <= 11
        and right.status_code == 429
        and first_code_429 is not None
        and 200 not in code_statuses
        and 1 <= len(texts) <= 3
        and settled
        and notices == cap
    )
    return Outcome("brute_force", figures, ok=ok)


def _texts_to(system: RunningSystem, phone: str) -> list[dict[str, Any]]:
    if not system.sms_outbox.exists():
        return []
    e164 = normalise_phone(phone)
    texts = []
    for line in system.sms_outbox.read_text(encoding="utf-8").splitlines():
        message = json.loads(line)
        if message["to"] == e164:
            texts.append(message)
    return texts


# -- 10. citizen IDs in logs and messages ---------------------------------------------------

# Payloads that carry the child's citizen ID, and why.
NEEDS_CITIZEN_ID = {
    "submit_application": "the parent's form itself, on its way to registration, the service"
    " that owns it and checks it against the population register",
    "application_verified": "allocation computes the published lottery number from it (the"
    " HMAC of the round seed and the citizen ID, so a family can recompute its own draw)",
}


def citizen_ids(system: RunningSystem, submit: Submitter, bodies: list[bytes]) -> Outcome:
    """Scenario 10: a run with every message copied off the broker, then every 12-digit
    number counted in the copies and in every process's log."""
    taps = _tap_everything(system.amqp_uri)
    result = submit(bodies)
    verdict = settle(system, set(result.references), timeout=600)
    per_type: Counter[str] = Counter()
    hits: Counter[str] = Counter()
    with Connection(system.amqp_uri) as connection:
        channel = connection.default_channel
        for queue in taps:
            while (message := channel.basic_get(queue.name, no_ack=True)) is not None:
                body = message.body if isinstance(message.body, bytes) else message.body.encode()
                kind = _kind(body, message.delivery_info.get("routing_key", ""))
                per_type[kind] += 1
                if CITIZEN_ID.search(body):
                    hits[kind] += 1
            queue(channel).delete()
    logs = {
        path.name: len(CITIZEN_ID.findall(path.read_bytes()))
        for path in sorted((system.workdir / "logs").glob("*.log"))
    }
    # And, exactly, the citizen IDs this run submitted, wherever they appear in a log.
    submitted = {json.loads(body)["child"]["citizen_id"].encode() for body in bodies}
    known = sum(
        len(submitted & set(CITIZEN_ID.findall(path.read_bytes())))
        for path in (system.workdir / "logs").glob("*.log")
    )
    unexplained = {kind: n for kind, n in hits.items() if kind not in NEEDS_CITIZEN_ID}
    log_hits = sum(logs.values())
    figures = (
        f"{len(bodies):,} submissions ({_statuses(result)}); {sum(per_type.values()):,}"
        f" messages copied off the broker ({len(per_type)} types); messages with a 12-digit"
        f" number, by type: {dict(sorted(hits.items())) or 'none'}; outside the payloads named"
        f" below: {sum(unexplained.values())}; 12-digit numbers in the logs of"
        f" {len(logs)} processes: {log_hits} (of them submitted citizen IDs: {known})"
    )
    notes = [f"`{kind}` carries the citizen ID: {why}." for kind, why in NEEDS_CITIZEN_ID.items()]
    ok = not unexplained and log_hits == 0
    return Outcome("citizen_ids", figures, verdict, ok=ok, notes=notes)


def _tap_everything(amqp_uri: str) -> list[Queue]:
    suffix = uuid.uuid4().hex[:6]
    events = Queue(f"test.tap.events.{suffix}", exchange=topology.EVENTS, routing_key="#")
    commands = [
        Queue(
            f"test.tap.{service}.{command}.{suffix}",
            exchange=Exchange(topology.COMMANDS.name, type="direct", durable=True),
            routing_key=f"{service}.{command}",
        )
        for service, command in _commands()
    ]
    with Connection(amqp_uri) as connection:
        for queue in (events, *commands):
            queue(connection.default_channel).declare()
    return [events, *commands]


def _commands() -> list[tuple[str, str]]:
    """(service, command) of every command handler."""
    return [(h.service, h.spec.command) for h in handlers() if h.spec.command is not None]


def _kind(body: bytes, routing_key: str) -> str:
    try:
        return str(json.loads(body).get("type") or routing_key)
    except (ValueError, AttributeError):
        return routing_key
