"""The department, parents and school staff drive a round through the gateway (Flask test
client, the real RPC pool) to a real allocation service on the real broker and PostgreSQL,
with the small demo city.

Registration's verdicts arrive as its relay publishes them, built from the demo city's
register; its `intake_status` answer comes from the test-only `FakeRegistration` service.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.app import create_app
from services.allocation.engine import verify_export
from services.allocation.models import VerifiedApplication
from services.allocation.schools import import_city
from services.allocation.service import AllocationService
from shared.contracts.envelope import make_message
from shared.db.engine import build_engine
from shared.messaging.bus import MessageBus
from tests.support.accounts import (
    DEPARTMENT,
    PARENT,
    STAFF,
    bearer,
    credentials,
    gateway_config,
    make_account,
)
from tests.support.allocation_harness import FakeRegistration
from tests.support.waiting import wait_for
from tools.demo_city import build_city

pytestmark = pytest.mark.integration

ROUND = "2027-grade_1"


@pytest.fixture
def allocation_db(tmp_path: Path, make_database: Callable[[str], str]) -> tuple[str, Path]:
    """An allocation database holding the small demo city's schools."""
    db_uri = make_database("allocation")
    build_city(tmp_path / "city", "small", 2027, 2027)
    engine = build_engine(db_uri)
    with Session(engine) as session, session.begin():
        import_city(session, tmp_path / "city")
    engine.dispose()
    return db_uri, tmp_path / "city"


@pytest.fixture
def gateway_db(make_database: Callable[[str], str]) -> str:
    """The gateway's own database (accounts, audit log)."""
    return make_database("gateway")


@pytest.fixture
def client(
    allocation_db: tuple[str, Path],
    container_factory: Any,
    service_config: Callable[..., dict[str, Any]],
    amqp_uri: str,
    gateway_db: str,
) -> Iterator[Any]:
    """A gateway worker in front of allocation and the fake registration."""
    config = service_config(allocation_db[0], REGISTRATION_TIMEOUT_SECONDS=2)
    FakeRegistration.answer, FakeRegistration.owners = {"unverified": 0, "backlog": 0}, {}
    for service in (FakeRegistration, AllocationService):
        container_factory(service, config).start()
    app = create_app(gateway_config(amqp_uri, gateway_db, RPC_TIMEOUT_SECONDS=10))
    with app.test_client() as test_client:
        yield test_client
    app.extensions["tuyensinh"].rpc.close()
    app.extensions["db"].dispose()


def log_in(client: Any, gateway_db: str, role: str, **account: Any) -> tuple[str, dict[str, str]]:
    """A new account of `role`, logged in through the real token route: its id and headers."""
    account_id = make_account(gateway_db, role, **account)
    answer = client.post("/api/v1/auth/token", json=credentials(gateway_db, account_id))
    assert answer.status_code == 200, answer.json
    return account_id, bearer(answer.json["access_token"])


def verify_city(bus: MessageBus, city: Path, db_uri: str) -> int:
    """Publish `application_verified` for each grade-1 child of the city found in the register."""
    register = {row["citizen_id"]: row for row in csv.DictReader(open(city / "register.csv"))}
    count = 0
    for line in open(city / "applications.jsonl", encoding="utf-8"):
        form = json.loads(line)
        person = register.get(form["child"]["citizen_id"])
        if form["round_id"] != ROUND or person is None:
            continue
        payload = {
            "reference": f"TS{person['citizen_id']}",
            "round_id": ROUND,
            "citizen_id": person["citizen_id"],
            "ward_code": person["ward_code"],
            "household_id": person["household_id"],
            "priority_category": person["priority_category"] or None,
            "preferences": form["preferences"],
        }
        bus.publish_event("registration", make_message("application_verified", payload))
        count += 1
    engine = build_engine(db_uri)
    query = select(func.count()).select_from(VerifiedApplication)
    with Session(engine) as session:
        wait_for(lambda: session.scalar(query) == count, what="the verified applications")
    engine.dispose()
    return count


def until_job_done(client: Any, headers: dict[str, str]) -> dict[str, Any]:
    """The round once its queued job has run."""
    answer = wait_for(
        lambda: (
            (r := client.get(f"/api/v1/rounds/{ROUND}", headers=headers).json)["job"] is None and r
        ),
        timeout=30,
        what="the round's job",
    )
    assert answer["job_error"] is None, answer["job_error"]
    return answer  # type: ignore[no-any-return]


def test_the_department_runs_a_round_parents_answer_and_a_school_confirms(
    client: Any, bus: MessageBus, allocation_db: tuple[str, Path], gateway_db: str
) -> None:
    _, department = log_in(client, gateway_db, DEPARTMENT)
    created = client.post(
        "/api/v1/rounds", json={"level": "grade_1", "year": 2027}, headers=department
    )
    assert created.status_code == 201, created.json
    assert created.json["status"] == "draft"
    opened = client.post(f"/api/v1/rounds/{ROUND}/open", headers=department)
    assert opened.json["status"] == "open"
    applicants = verify_city(bus, allocation_db[1], allocation_db[0])
    received = client.get(f"/api/v1/rounds/{ROUND}", headers=department).json
    assert received["applications_received"] == 3  # the hours of the fake registration
    closed = client.post(f"/api/v1/rounds/{ROUND}/close", headers=department).json
    assert (closed["status"], closed["seed"]) == ("closed", None)

    FakeRegistration.answer = {"unverified": 2, "backlog": 0}
    refused = client.post(f"/api/v1/rounds/{ROUND}/allocate", headers=department)
    assert refused.status_code == 409
    assert refused.json["error"]["code"] == "intake_not_complete"
    assert "2 applications are not verified yet" in refused.json["error"]["message"]

    FakeRegistration.answer = {"unverified": 0, "backlog": 0}
    assert client.post(f"/api/v1/rounds/{ROUND}/allocate", headers=department).status_code == 202
    assert until_job_done(client, department)["status"] == "allocated"
    stats = client.get(f"/api/v1/rounds/{ROUND}/stats", headers=department).json
    assert stats["statistics"]["applicants"] == applicants
    assert stats["applications_per_hour"] == FakeRegistration.hours  # registration's figures
    assert 0 < stats["statistics"]["first_choice_share"] <= 1
    export = client.get(f"/api/v1/rounds/{ROUND}/results.csv", headers=department)
    assert export.status_code == 200 and export.mimetype == "text/csv"
    verdict = verify_export(io.StringIO(export.get_data(as_text=True)))
    assert verdict.ok and verdict.applicants == applicants and verdict.blocking_pairs == 0

    assert client.post(f"/api/v1/rounds/{ROUND}/publish", headers=department).status_code == 202
    published = until_job_done(client, department)
    assert published["status"] == "published" and len(published["seed"]) == 64

    offered = [r for r in csv.DictReader(_body(export)) if r["school"]]
    child, school, other = offered[0]["reference"], offered[0]["school"], offered[1]["reference"]
    account, parent = log_in(client, gateway_db, PARENT)
    FakeRegistration.owners = {child: account, other: account}
    accepted = client.post(f"/api/v1/offers/{child}/accept", headers=parent)
    assert (accepted.status_code, accepted.json["status"]) == (200, "accepted")
    assert client.post(f"/api/v1/offers/{child}/accept", headers=parent).status_code == 409
    _, staff = log_in(client, gateway_db, STAFF, school=school)
    intake = client.get(f"/api/v1/schools/{school}/intake", headers=staff).json
    assert {"reference": child, "status": "accepted"}.items() <= next(
        c for c in intake["allocated"] if c["reference"] == child
    ).items()
    confirm = f"/api/v1/schools/{school}/intake/{child}/confirm"
    confirmed = client.post(confirm, headers=staff)
    assert (confirmed.status_code, confirmed.json["status"]) == (200, "enrolled")

    declined = client.post(f"/api/v1/offers/{other}/decline", headers=parent)
    assert (declined.status_code, declined.json["status"]) == (200, "declined")
    stranger = client.post("/api/v1/offers/TSNOSUCHREFERENCE/accept", headers=parent)
    assert stranger.status_code == 404
    reject = f"/api/v1/schools/{school}/intake/{child}/reject"
    assert client.post(reject, json={}, headers=staff).status_code == 400


def _body(response: Any) -> Iterator[str]:
    text = response.get_data(as_text=True)
    return iter(line for line in text.splitlines(keepends=True) if not line.startswith("# "))
