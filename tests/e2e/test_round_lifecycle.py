"""A whole round through the gateway, on the real processes: the department creates and opens
it, parents apply, registration verifies them against the register, the department closes,
allocates and publishes, a parent accepts, the school confirms; another parent declines and
the seat moves down the waitlist.

The small demo city is loaded the way an operator loads it: its schools with allocation's
`import_city`, its register with registration's import, before the processes start. The
accounts (department, a parent, the school's staff) are made in the gateway's database as
the admin CLI makes them, and log in through the real token route.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy.orm import Session

from services.allocation.engine import verify_export
from services.allocation.schools import import_city
from services.registration.register_import import import_register
from shared.db.engine import build_engine
from tests.conftest import start_smtp_sink
from tests.e2e.conftest import PROCESSES, SERVICES, System, _ready
from tests.support.accounts import (
    DEPARTMENT,
    FAST_ARGON2,
    PARENT,
    STAFF,
    bearer,
    credentials,
    make_account,
)
from tests.support.broker import create_vhost, delete_vhost
from tests.support.databases import create_database, drop_database
from tests.support.processes import BIN, Processes, free_port
from tests.support.waiting import wait_for
from tools.demo_city import build_city

pytestmark = pytest.mark.e2e

ROUND = "2027-grade_1"


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small demo city's files."""
    directory = tmp_path_factory.mktemp("city")
    build_city(directory, "small", 2027, 2027)
    return directory


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory, city: Path) -> Iterator[System]:
    """Everything running, with the city's schools and register loaded and no round yet."""
    workdir = tmp_path_factory.mktemp("round")
    amqp_uri = create_vhost()
    databases = {service: create_database(service) for service in (*SERVICES, "gateway")}
    engine = build_engine(databases["allocation"])
    with Session(engine) as session, session.begin():
        import_city(session, city)
    engine.dispose()
    engine = build_engine(databases["registration"])
    import_register(engine, city / "register.csv", progress=False)
    engine.dispose()
    processes = Processes(workdir / "logs")
    smtp_port, gateway_port = free_port(), free_port()
    env = {
        "AMQP_URI": amqp_uri,
        "REGISTRATION_DB_URI": databases["registration"],
        "ALLOCATION_DB_URI": databases["allocation"],
        "NOTIFICATION_DB_URI": databases["notification"],
        "SMTP_PORT": str(smtp_port),
        "GATEWAY_BIND": f"127.0.0.1:{gateway_port}",
        "GATEWAY_WORKERS": "2",
        "RETRY_DELAYS_MS": json.dumps([200, 500]),
        "WINDOW_NOTICE_SECONDS": "0",  # open and close at once (the window test gives notice)
        "OUTBOX_POLL_SECONDS": "0.2",
        "RPC_TIMEOUT_SECONDS": "20",
        "GATEWAY_DB_URI": databases["gateway"],
        "RATELIMIT_KEY_PREFIX": f"ts-e2e-{uuid.uuid4().hex[:10]}",
        "RATE_LIMIT_SUBMIT": "10000/minute",
        "RATE_LIMIT_ACCOUNT": "10000/minute",
        "RATE_LIMIT_COSTLY": "10000/minute",
        **{key: str(value) for key, value in FAST_ARGON2.items()},
    }
    url = f"http://127.0.0.1:{gateway_port}"
    try:
        start_smtp_sink(processes, smtp_port, workdir / "mail")
        for service in PROCESSES:
            processes.nameko(service, env)
        gunicorn = [str(BIN / "gunicorn"), "-c", "gateway/gunicorn.conf.py"]
        processes.start("gateway", [*gunicorn, "gateway.app:create_app()"], env)
        running = System(url, databases, workdir / "mail", processes)
        try:
            wait_for(lambda: _ready(url), timeout=60, what="the system to be ready")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{running.logs()}\n{processes.log('gateway')}") from exc
        yield running
    finally:
        processes.stop_all()
        for uri in databases.values():
            drop_database(uri)
        delete_vhost(amqp_uri)


def log_in(system: System, role: str, **account: Any) -> dict[str, str]:
    """A new account of `role`, logged in through the gateway: its Authorization header."""
    db = system.databases["gateway"]
    body = credentials(db, make_account(db, role, **account))
    answer = requests.post(system.api("/api/v1/auth/token"), json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    return bearer(answer.json()["access_token"])


def post(system: System, path: str, who: dict[str, str], body: Any = None) -> requests.Response:
    """POST to the gateway as `who`."""
    return requests.post(system.api(path), json=body, headers=who, timeout=30)


def get(system: System, path: str, who: dict[str, str] | None = None) -> requests.Response:
    """GET from the gateway as `who`."""
    return requests.get(system.api(path), headers=who, timeout=30)


def status_of(system: System, parent: dict[str, str], reference: str) -> str | None:
    """The application's status as its parent sees it."""
    answer = get(system, f"/api/v1/applications/{reference}", parent)
    return answer.json()["status"] if answer.status_code == 200 else None


def until(system: System, probe: Any, what: str, timeout: float = 60) -> Any:
    """`wait_for`, with every process's log in the failure."""
    try:
        return wait_for(probe, timeout=timeout, interval=0.3, what=what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{system.logs()}") from exc


def test_close_allocate_publish_accept_confirm_through_the_gateway(
    system: System, city: Path
) -> None:
    department, parent = log_in(system, DEPARTMENT), log_in(system, PARENT)
    rounds = "/api/v1/rounds"
    created = post(system, rounds, department, {"level": "grade_1", "year": 2027, "offer_days": 3})
    assert created.status_code == 201, created.text
    assert post(system, f"{rounds}/{ROUND}/open", department).json()["status"] == "open"
    until(
        system,
        lambda: any(r["round_id"] == ROUND for r in get(system, rounds).json()),
        "the gateway to see the round open",
    )
    forms = [json.loads(line) for line in open(city / "applications.jsonl", encoding="utf-8")]
    references = []
    for form in (f for f in forms if f["round_id"] == ROUND):
        answer = post(system, "/api/v1/applications", parent, form)
        assert answer.status_code == 202, answer.text
        references.append(answer.json()["reference"])
    status = {}

    def settled() -> bool:
        for ref in references:
            if status.get(ref) not in ("verified", "rejected"):
                status[ref] = status_of(system, parent, ref)
        return all(status[ref] in ("verified", "rejected") for ref in references)

    until(system, settled, "registration to check every application", timeout=120)
    verified = [ref for ref in references if status[ref] == "verified"]
    assert len(verified) > 0.9 * len(references)

    assert post(system, f"{rounds}/{ROUND}/close", department).json()["status"] == "closed"
    at_close = get(system, f"{rounds}/{ROUND}/commitment").json()  # anyone, no token
    assert len(at_close["seed_commitment"]) == 64 and at_close["seed"] is None, at_close
    assert at_close["input_digests"] == []
    until(
        system,
        lambda: post(system, f"{rounds}/{ROUND}/allocate", department).status_code == 202,
        "allocate to be accepted once the intake is complete",
    )
    preview = until(system, lambda: round_in(system, department, "allocated"), "the preview")
    assert preview["seed"] is None
    stats = get(system, f"{rounds}/{ROUND}/stats", department).json()
    assert stats["statistics"]["applicants"] == len(verified)
    export = get(system, f"{rounds}/{ROUND}/results.csv", department)
    before = get(system, f"{rounds}/{ROUND}/commitment").json()
    assert before["seed_commitment"] == at_close["seed_commitment"] and before["seed"] is None
    (run,) = before["input_digests"]  # published before anyone sees a result
    assert run["applications"] == len(verified)
    report = verify_export(io.StringIO(export.text), at_close["seed_commitment"], run["digest"])
    assert report.ok and report.seed_committed and report.inputs_committed
    redrawn = verify_export(io.StringIO(export.text), hashlib.sha256(b"other").hexdigest())
    assert redrawn.seed_committed is False and not redrawn.ok

    assert post(system, f"{rounds}/{ROUND}/publish", department).status_code == 202
    published = until(system, lambda: round_in(system, department, "published"), "publication")
    assert len(published["seed"]) == 64
    revealed = get(system, f"{rounds}/{ROUND}/commitment").json()["seed"]
    assert hashlib.sha256(bytes.fromhex(revealed)).hexdigest() == at_close["seed_commitment"]
    page = get(system, f"/rounds/{ROUND}/draw")  # the portal's public page shows all three
    assert page.status_code == 200
    assert all(value in page.text for value in (revealed, run["digest"], before["seed_commitment"]))
    outcomes = ("offered", "waitlisted", "unplaced")
    until(
        system,
        lambda: all(status_of(system, parent, ref) in outcomes for ref in verified),
        "every family to see its outcome",
    )

    lines = (line for line in export.text.splitlines() if not line.startswith("# "))
    first, second = [row for row in csv.DictReader(lines) if row["school"]][:2]
    mine = get(system, f"/api/v1/applications/{first['reference']}", parent).json()
    result = mine["result"]  # the outcome with its explanation, on the application itself
    assert result["placement"]["school_code"] == first["school"], result
    assert result["offer"]["status"] == "offered" and result["offer"]["deadline"], result
    assert result["seed"] == published["seed"]
    considered = [row for row in result["explanation"] if row["tier"] is not None]
    assert considered and all(row["tier"] in (1, 2, 3) for row in considered), result
    assert all(row["lottery"] == result["lottery"] for row in considered), result
    if result["placement"]["placed_by"] == "preference":
        placed_at = result["explanation"][result["placement"]["rank"] - 1]
        assert (placed_at["school_code"], placed_at["outcome"]) == (first["school"], "admitted")
    listed = get(system, "/api/v1/applications", parent).json()
    assert {a["reference"]: a["result"] for a in listed}[first["reference"]] == result
    accepted = post(system, f"/api/v1/offers/{first['reference']}/accept", parent)
    assert accepted.json()["status"] == "accepted", accepted.text
    school = first["school"]
    staff = log_in(system, STAFF, school=school)
    intake = get(system, f"/api/v1/schools/{school}/intake", staff).json()
    assert first["reference"] in [child["reference"] for child in intake["allocated"]]
    confirm = f"/api/v1/schools/{school}/intake/{first['reference']}/confirm"
    confirmed = post(system, confirm, staff)
    assert confirmed.json()["status"] == "enrolled", confirmed.text
    until(
        system,
        lambda: status_of(system, parent, first["reference"]) == "enrolled",
        "the family to see the enrollment",
    )

    audit_trail_shows_reads_and_changes(system, parent, department, first["reference"], school)

    other_staff = log_in(system, STAFF, school=second["school"])
    waiting = get(system, f"/api/v1/schools/{second['school']}/intake", other_staff).json()
    declined = post(system, f"/api/v1/offers/{second['reference']}/decline", parent)
    assert declined.json()["status"] == "declined", declined.text
    until(
        system,
        lambda: status_of(system, parent, second["reference"]) == "declined",
        "the family to see the decline",
    )
    if waiting["waitlist"]:  # the head of that school's waitlist now holds the seat
        head = waiting["waitlist"][0]["reference"]
        until(system, lambda: status_of(system, parent, head) == "offered", "the seat to move on")


def audit_trail_shows_reads_and_changes(
    system: System, parent: dict[str, str], department: dict[str, str], ref: str, school: str
) -> None:
    """The family sees which school opened the record and what it did, never who; the
    department finds the child's trail, its own search in it, and exports it."""
    seen = get(system, f"/api/v1/applications/{ref}/access", parent)
    assert seen.status_code == 200, seen.text
    entries = seen.json()
    by = {(e["by"], e["action"], e["school_code"]) for e in entries}
    assert ("family", "application.submit", None) in by
    assert ("family", "offer.accept", None) in by
    assert ("school", "intake.read", school) in by
    assert ("school", "intake.confirm", school) in by
    assert ("department", "round.export_results", None) in by
    assert all(set(e) == {"at", "action", "by", "school_code"} for e in entries)  # no account

    found = get(system, f"/api/v1/audit?reference={ref}", department)
    assert found.status_code == 200, found.text
    actions = [e["action"] for e in found.json()["entries"]]
    assert actions.count("application.submit") == 1 and "intake.confirm" in actions
    searches = get(system, "/api/v1/audit?action=audit.search", department).json()["entries"]
    assert searches and searches[0]["objects"] == {"reference": ref}  # the search is audited
    wrong = get(system, "/api/v1/audit?reference=not-a-ref&since=yesterday", department)
    assert wrong.status_code == 400 and set(wrong.json()["error"]["fields"]) == {
        "reference",
        "since",
    }
    exported = get(system, f"/api/v1/audit.csv?reference={ref}", department)
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    # ... and the search above and this export name it too (an export's entry is written
    # before its rows are read).
    assert len(rows) == len(found.json()["entries"]) + 2
    assert {row["action"] for row in rows} >= {"application.submit", "audit.search", "audit.export"}


def round_in(system: System, department: dict[str, str], status: str) -> Any:
    """The round, once it is in `status` with no job queued (else None)."""
    answer = get(system, f"/api/v1/rounds/{ROUND}", department).json()
    return answer if answer["status"] == status and answer["job"] is None else None
