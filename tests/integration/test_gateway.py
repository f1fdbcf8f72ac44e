"""The gateway in-process (Flask test client) against the real broker and a real allocation
service, which it asks over RPC for the open rounds. The client is logged in as a parent
(an account in the gateway's own PostgreSQL database) unless a test says otherwise."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from shared.db.engine import build_engine
from tests.support.broker import drain, queue_depth
from tests.support.forms import form
from tests.support.tcp_proxy import TcpProxy
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration


def test_a_valid_application_is_202_only_with_the_command_on_the_broker(
    client: Any, amqp_uri: str
) -> None:
    answer = client.post("/api/v1/applications", json=form())

    assert answer.status_code == 202
    assert answer.json["status"] == "received"
    [(command, _)] = drain(amqp_uri, "registration.submit_application", expect=1)
    assert command["type"] == "submit_application"
    assert command["payload"]["reference"] == answer.json["reference"]
    assert command["payload"]["child"]["citizen_id"] == "001221000123"


def test_the_same_child_gets_the_same_reference_and_another_child_another(client: Any) -> None:
    first = client.post("/api/v1/applications", json=form()).json["reference"]
    again = client.post("/api/v1/applications", json=form(preferences=["TH-0003"])).json
    other_child = {
        "citizen_id": "001221000999",
        "full_name": "Lê Văn Bảo",
        "date_of_birth": "2021-01-01",
    }
    other = client.post("/api/v1/applications", json=form(child=other_child)).json

    assert again["reference"] == first
    assert other["reference"] != first


def test_a_bad_body_is_400_with_an_error_for_each_field(client: Any, amqp_uri: str) -> None:
    body = form(preferences=["TH-0001", "TH-0001"])
    body["child"] = {**body["child"], "citizen_id": "12345", "date_of_birth": "not a date"}
    body["guardian"] = {**body["guardian"], "email": "not-an-email"}
    body["status"] = "offered"

    answer = client.post("/api/v1/applications", json=body)

    assert answer.status_code == 400
    error = answer.json["error"]
    assert error["code"] == "invalid"
    assert error["fields"]["child"].keys() == {"citizen_id", "date_of_birth"}
    assert error["fields"]["guardian"].keys() == {"email"}
    assert error["fields"]["preferences"] == ["each school may be chosen once"]
    assert "status" in error["fields"]
    assert queue_depth(amqp_uri, "registration.submit_application") == 0


def test_an_unknown_school_or_one_of_another_level_is_400_naming_it_and_nothing_is_sent(
    client: Any, amqp_uri: str
) -> None:
    # TH-0001 admits grade 1 (this round's level); THCS-0001 admits grade 6; no TH-9999.
    answer = client.post(
        "/api/v1/applications", json=form(preferences=["TH-0001", "TH-9999", "THCS-0001"])
    )

    assert answer.status_code == 400
    assert answer.json["error"]["fields"] == {
        "preferences": {
            "1": ["no school has this code"],
            "2": ["this school does not admit grade_1 pupils"],
        }
    }
    assert queue_depth(amqp_uri, "registration.submit_application") == 0


def test_more_preferences_than_the_round_allows_is_400(client: Any) -> None:
    answer = client.post("/api/v1/applications", json=form(preferences=["A1", "A2", "A3", "A4"]))

    assert answer.status_code == 400
    assert answer.json["error"]["fields"] == {"preferences": ["at most 3 schools"]}


def test_a_round_that_is_not_open_is_409(client: Any) -> None:
    answer = client.post("/api/v1/applications", json=form(round_id="2026-grade_1"))

    assert answer.status_code == 409
    assert answer.json["error"]["code"] == "round_not_open"


def test_with_the_broker_unreachable_a_submission_is_503_never_202(
    client: Any, proxy: TcpProxy, amqp_uri: str
) -> None:
    assert client.get("/api/v1/rounds").status_code == 200  # round cache warm, broker fine
    proxy.cut()

    answer = client.post("/api/v1/applications", json=form())

    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "5"
    assert answer.json["error"]["code"] == "unavailable"
    assert queue_depth(amqp_uri, "registration.submit_application") == 0


def test_readiness_reports_a_missing_service_as_not_ready(client: Any) -> None:
    answer = client.get("/readyz")

    assert answer.status_code == 503
    assert answer.json["broker"] == "ok"
    assert answer.json["services"]["allocation"] == "ok"
    assert answer.json["services"]["registration"].startswith("unavailable")


def test_a_replica_stays_ready_for_its_load_balancer_while_a_service_is_missing(
    client: Any, proxy: TcpProxy
) -> None:
    # The services are shared by every replica: their absence takes none of them out.
    answer = client.get("/readyz?scope=replica")

    assert answer.status_code == 200
    assert answer.json == {"ready": True, "broker": "ok", "services": {}}
    assert client.get("/readyz/replica").json == answer.json  # the load balancer's check
    proxy.cut()  # but a replica that cannot reach the broker is out
    assert client.get("/readyz?scope=replica").status_code == 503
    # The load balancer's check tries the broker at most once a second (per worker).
    wait_for(lambda: client.get("/readyz/replica").status_code == 503, timeout=5, what="out")


def test_an_unknown_application_is_404_in_the_house_error_format(
    client: Any,
    container_factory: Any,
    make_database: Callable[[str], str],
    service_config: Callable[..., dict[str, Any]],
) -> None:
    from services.registration.service import RegistrationService

    container_factory(RegistrationService, service_config(make_database("registration"))).start()

    answer = client.get("/api/v1/applications/TSNOSUCHAPPLICATION")

    assert answer.status_code == 404
    assert answer.json == {
        "error": {"code": "not_found", "message": "No such application.", "fields": {}}
    }


def test_open_rounds_come_from_the_allocation_service(client: Any, allocation: Any) -> None:
    rounds = wait_for(lambda: client.get("/api/v1/rounds").json, what="open rounds")

    assert {r["round_id"] for r in rounds} == {
        "2027-kindergarten",
        "2027-grade_1",
        "2027-grade_6",
    }


def test_the_catchment_lookup_names_the_real_ward_and_its_schools(
    client: Any, tmp_path: Path
) -> None:
    import csv

    wards = dict(csv.reader(open(tmp_path / "city" / "wards.csv", encoding="utf-8")))
    ward = next(code for code in wards if code != "code")

    answer = client.get(f"/api/v1/catchment?ward={ward}&level=kindergarten")

    assert answer.status_code == 200
    assert answer.json["ward"] == {"code": ward, "name": wards[ward]}
    assert answer.json["ward"]["name"].startswith(("Phường", "Xã"))
    assert all(ward in school["catchment"] for school in answer.json["schools"])
    assert {school["level"] for school in answer.json["schools"]} == {"kindergarten"}


def test_the_catchment_lookup_checks_its_query(client: Any) -> None:
    answer = client.get("/api/v1/catchment?ward=abc&level=university")

    assert answer.status_code == 400
    assert answer.json["error"]["fields"].keys() == {"ward", "level"}


def test_an_unknown_ward_is_404(client: Any) -> None:
    assert client.get("/api/v1/catchment?ward=99999&level=grade_1").status_code == 404


def test_schools_of_a_level_come_with_their_capacity(client: Any) -> None:
    answer = client.get("/api/v1/schools?level=grade_6")

    assert answer.status_code == 200
    assert answer.json and all(s["code"].startswith("THCS-") for s in answer.json)
    assert all(s["capacity"] > 0 for s in answer.json)


def close_round(allocation: Any, round_id: str) -> None:
    """Close a round the way the department's close leaves it in allocation's database."""
    from sqlalchemy import update

    from services.allocation.models import Round

    engine = build_engine(allocation.db_uri)
    with Session(engine) as session, session.begin():
        session.execute(update(Round).where(Round.round_id == round_id).values(status="closed"))
    engine.dispose()


def test_a_withdrawal_while_open_is_202_and_registration_withdraws_it(
    client: Any, registration_with_an_application: Any
) -> None:
    from nameko.testing.services import entrypoint_waiter

    with entrypoint_waiter(registration_with_an_application, "handle_withdraw_application"):
        answer = client.post("/api/v1/applications/TSGATEWAYTEST0001/withdraw")

    assert answer.status_code == 202
    assert client.get("/api/v1/applications/TSGATEWAYTEST0001").json["status"] == "withdrawn"


def test_after_close_an_amendment_and_a_withdrawal_are_409_with_a_reason(
    client: Any, registration_with_an_application: Any, allocation: Any, amqp_uri: str
) -> None:
    close_round(allocation, "2027-grade_1")

    amend = client.post("/api/v1/applications", json=form(preferences=["TH-0009"]))
    withdraw = client.post("/api/v1/applications/TSGATEWAYTEST0001/withdraw")

    assert (amend.status_code, amend.json["error"]["code"]) == (409, "round_not_open")
    assert (withdraw.status_code, withdraw.json["error"]["code"]) == (409, "round_closed")
    assert "can no longer change" in withdraw.json["error"]["message"]
    assert queue_depth(amqp_uri, "registration.withdraw_application") == 0


def test_withdrawing_an_unknown_application_is_404(
    client: Any, registration_with_an_application: Any
) -> None:
    assert client.post("/api/v1/applications/TSNOSUCHAPPLICATION/withdraw").status_code == 404
