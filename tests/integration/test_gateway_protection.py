"""The gateway's front-line defences, in-process against the real broker, PostgreSQL, Redis and
a real allocation service: rate limits, backpressure, mass assignment, the audit log, the
metrics and the correlation ID."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from nameko.testing.services import entrypoint_waiter
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from gateway.app import create_app
from services.registration.service import RegistrationService
from tests.support import factories
from tests.support.accounts import (
    DEPARTMENT,
    PARENT,
    STAFF,
    bearer,
    credentials,
    gateway_config,
    make_account,
)
from tests.support.broker import drain, queue_depth
from tests.support.forms import form
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

SUBMISSIONS = "registration.submit_application"


class Gateway:
    """An in-process gateway worker and its database, with helpers to log in."""

    def __init__(self, app: Any, db: str) -> None:
        self.app, self.db, self.client = app, db, app.test_client()

    def login(self, account_id: str) -> dict[str, str]:
        answer = self.client.post("/api/v1/auth/token", json=credentials(self.db, account_id))
        assert answer.status_code == 200, answer.json
        return bearer(answer.json["access_token"])

    def rows(self, query: str) -> list[Any]:
        engine = create_engine(self.db)
        try:
            with engine.connect() as connection:
                return list(connection.execute(text(query)))
        finally:
            engine.dispose()


@pytest.fixture
def start_gateway(
    allocation: Any,  # the demo allocation service (tests/integration/conftest.py)
    amqp_uri: str,
    make_database: Callable[[str], str],
) -> Iterator[Callable[..., Gateway]]:
    """Builds gateway workers sharing one database (and, given the same prefix, Redis)."""
    made: list[Gateway] = []
    db = make_database("gateway")

    def start(**extra: Any) -> Gateway:
        gateway = Gateway(create_app(gateway_config(amqp_uri, db, **extra)), db)
        made.append(gateway)
        return gateway

    yield start
    for gateway in made:
        gateway.app.extensions["tuyensinh"].rpc.close()
        gateway.app.extensions["db"].dispose()


def child(number: int) -> dict[str, str]:
    return {
        "citizen_id": f"0012210{number:05d}",
        "full_name": "Lê Văn Bảo",
        "date_of_birth": "2021-01-01",
    }


@pytest.mark.parametrize("storage", ["redis", "memory"])
def test_a_revoked_token_is_401_and_not_counted_against_the_limit(
    start_gateway: Callable[..., Gateway], storage: str
) -> None:
    """The token check and the rate limit share one Redis round trip (gateway.auth.checks);
    without Redis they are asked one after the other, with the same answers."""
    uri = "memory://" if storage == "memory" else "redis://127.0.0.1:6379/0"
    gateway = start_gateway(
        RATE_LIMITS={"submit": "2/minute"},
        RATELIMIT_STORAGE_URI=uri,
        RATELIMIT_KEY_PREFIX=f"ts-test-{uuid.uuid4().hex[:10]}",
    )
    account = make_account(gateway.db, PARENT)
    revoked, live = gateway.login(account), gateway.login(account)
    gone = gateway.client.post("/api/v1/auth/logout", headers=revoked, json={})
    assert gone.status_code == 204

    refused = [
        gateway.client.post("/api/v1/applications", json=form(child=child(n)), headers=revoked)
        for n in range(3)
    ]
    answers = [
        gateway.client.post("/api/v1/applications", json=form(child=child(n)), headers=live)
        for n in range(3)
    ]

    assert [a.status_code for a in refused] == [401, 401, 401]
    assert refused[0].json["error"]["message"] == "The token was revoked; log in again."
    # The same account's two submissions are still allowed: the refused ones were not counted.
    assert [a.status_code for a in answers] == [202, 202, 429]
    # The window opened with the first counted submission, a moment ago: most of it is left.
    assert 50 <= int(answers[2].headers["Retry-After"]) <= 60


def test_submissions_past_the_limit_are_429_with_retry_after_per_account(
    start_gateway: Callable[..., Gateway],
) -> None:
    gateway = start_gateway(RATE_LIMITS={"submit": "2/minute"})
    first, second = (gateway.login(make_account(gateway.db, PARENT)) for _ in range(2))

    answers = [
        gateway.client.post("/api/v1/applications", json=form(child=child(n)), headers=first)
        for n in range(3)
    ]

    assert [a.status_code for a in answers] == [202, 202, 429]
    limited = answers[2]
    assert 50 <= int(limited.headers["Retry-After"]) <= 60  # the window opened moments ago
    assert limited.json["error"]["code"] == "too_many_requests"
    assert limited.json["error"].keys() == {"code", "message", "fields"}
    other = gateway.client.post("/api/v1/applications", json=form(child=child(9)), headers=second)
    assert other.status_code == 202


def test_login_attempts_are_limited_across_workers_through_redis(
    start_gateway: Callable[..., Gateway],
) -> None:
    prefix = f"ts-test-{uuid.uuid4().hex[:10]}"
    limits = {"login_ip": "3/minute"}
    one = start_gateway(RATE_LIMITS=limits, RATELIMIT_KEY_PREFIX=prefix)
    two = start_gateway(RATE_LIMITS=limits, RATELIMIT_KEY_PREFIX=prefix)
    wrong = {"phone": "0912000000", "password": "not the password"}

    statuses = [one.client.post("/api/v1/auth/token", json=wrong).status_code for _ in range(2)]
    statuses += [two.client.post("/api/v1/auth/token", json=wrong).status_code for _ in range(2)]

    assert statuses == [401, 401, 401, 429]
    assert "Retry-After" in two.client.post("/api/v1/auth/token", json=wrong).headers


def test_the_load_balancers_check_is_never_counted_against_the_address_it_comes_from(
    start_gateway: Callable[..., Gateway],
) -> None:
    """A crowd behind the load balancer's own address (every benchmark client here) used up
    the per-address allowance, and the checks were refused: HAProxy took every replica out."""
    prefix = f"ts-test-{uuid.uuid4().hex[:10]}"
    gateway = start_gateway(RATE_LIMITS={"lookup_ip": "2/minute"}, RATELIMIT_KEY_PREFIX=prefix)

    full = [gateway.client.get("/readyz?scope=replica").status_code for _ in range(3)]
    checks = [gateway.client.get("/readyz/replica") for _ in range(5)]

    assert full == [200, 200, 429]
    assert [answer.status_code for answer in checks] == [200] * 5
    assert checks[-1].json == {"ready": True, "broker": "ok", "services": {}}


def test_over_the_backlog_limit_submissions_are_503_at_once_until_registration_catches_up(
    start_gateway: Callable[..., Gateway],
    container_factory: Any,
    make_database: Callable[[str], str],
    service_config: Callable[..., dict[str, Any]],
    amqp_uri: str,
) -> None:
    gateway = start_gateway(
        BACKLOG_LIMIT=3,
        BACKLOG_REFRESH_SECONDS=0.2,
        BACKLOG_RETRY_AFTER_SECONDS=7,
        RATE_LIMITS={"submit": "100/minute"},
    )
    parent = gateway.login(make_account(gateway.db, PARENT))
    registration_config = service_config(make_database("registration"))
    consumer = container_factory(RegistrationService, registration_config)
    consumer.start()
    consumer.stop()  # the registration consumer is down: submissions queue up
    for number in range(3):
        answer = gateway.client.post(
            "/api/v1/applications", json=form(child=child(number)), headers=parent
        )
        assert answer.status_code == 202
    assert queue_depth(amqp_uri, SUBMISSIONS) == 3
    time.sleep(0.3)
    gauge = gateway.app.extensions["tuyensinh"].backlog
    reads_before, started = gauge.reads, time.monotonic()

    answers = [
        gateway.client.post("/api/v1/applications", json=form(child=child(50 + n)), headers=parent)
        for n in range(20)
    ]

    elapsed = time.monotonic() - started
    assert {a.status_code for a in answers} == {503}
    assert answers[0].headers["Retry-After"] == "7"
    assert answers[0].json["error"]["code"] == "busy"
    assert queue_depth(amqp_uri, SUBMISSIONS) == 3  # nothing more was published
    assert gauge.reads - reads_before <= elapsed / 0.2 + 1  # cached, not one read a request

    container_factory(RegistrationService, registration_config).start()  # it is back
    wait_for(lambda: queue_depth(amqp_uri, SUBMISSIONS) == 0, what="the backlog to drain")
    time.sleep(0.3)
    again = gateway.client.post("/api/v1/applications", json=form(child=child(99)), headers=parent)
    assert again.status_code == 202


def test_fields_a_client_may_not_set_are_refused_and_nothing_changes(
    start_gateway: Callable[..., Gateway], amqp_uri: str
) -> None:
    gateway = start_gateway()
    parent = make_account(gateway.db, PARENT)
    other = make_account(gateway.db, PARENT)
    headers = gateway.login(parent)
    body = form(owner_id=other, status="offered", reference="TSCHOSENBYME00001")
    body["child"] = {**body["child"], "ward_code": "00004"}

    answer = gateway.client.post("/api/v1/applications", json=body, headers=headers)

    assert answer.status_code == 400
    fields = answer.json["error"]["fields"]
    assert {"owner_id", "status", "reference"} <= fields.keys()
    assert "ward_code" in fields["child"]
    assert queue_depth(amqp_uri, SUBMISSIONS) == 0
    assert gateway.rows("SELECT reference FROM application_claims") == []


def test_a_parent_cannot_submit_into_another_accounts_application(
    start_gateway: Callable[..., Gateway], amqp_uri: str
) -> None:
    gateway = start_gateway()
    first = gateway.login(make_account(gateway.db, PARENT))
    second = gateway.login(make_account(gateway.db, PARENT))
    made = gateway.client.post("/api/v1/applications", json=form(), headers=first)

    taken = gateway.client.post(
        "/api/v1/applications", json=form(preferences=["TH-0009"]), headers=second
    )

    assert made.status_code == 202
    assert (taken.status_code, taken.json["error"]["code"]) == (
        409,
        "registered_by_another_account",
    )
    assert made.json["reference"] not in taken.get_data(as_text=True)
    assert queue_depth(amqp_uri, SUBMISSIONS) == 1
    amend = gateway.client.post("/api/v1/applications", json=form(), headers=first)
    assert amend.status_code == 202


def test_state_changes_and_staff_reads_are_audited_with_ids_only(
    start_gateway: Callable[..., Gateway], amqp_uri: str
) -> None:
    gateway = start_gateway()
    parent = make_account(gateway.db, PARENT)
    staff = make_account(gateway.db, STAFF, school="TH-0001")
    department = make_account(gateway.db, DEPARTMENT)
    submitted = gateway.client.post(
        "/api/v1/applications",
        json=form(),
        headers={**gateway.login(parent), "X-Correlation-ID": "corr-audit-0001"},
    )
    gateway.client.get("/api/v1/schools/TH-0001/intake", headers=gateway.login(staff))
    gateway.client.get("/api/v1/rounds/2027-grade_1/results.csv", headers=gateway.login(department))

    entries = gateway.rows(
        "SELECT action, actor_id, role, objects, status, ip, correlation_id FROM audit_log "
        "WHERE action NOT LIKE 'auth.%' ORDER BY id"
    )

    reference = submitted.json["reference"]
    # A submission answered 202 is audited by registration, with the application: its entry
    # travels in the confirmed command (tests/integration/test_registration.py stores it).
    assert [(e.action, e.actor_id, e.role) for e in entries] == [
        ("intake.read", staff, "staff"),
        ("round.export_results", department, "department"),
    ]
    [(command, _)] = drain(amqp_uri, SUBMISSIONS, expect=1)
    assert command["correlation_id"] == "corr-audit-0001"
    audit = command["payload"]["audit"]
    assert audit.keys() == {"action", "actor_id", "role", "ip", "at"}
    assert (audit["action"], audit["actor_id"], audit["role"], audit["ip"]) == (
        "application.submit",
        parent,
        "parent",
        "127.0.0.1",
    )
    assert command["payload"]["reference"] == reference
    assert entries[0].objects == {"code": "TH-0001"} and entries[0].ip == "127.0.0.1"
    everything = str(gateway.rows("SELECT * FROM audit_log"))
    assert "001221000123" not in everything and "Nguyễn" not in everything
    engine = create_engine(gateway.db)
    with pytest.raises(Exception, match="append-only"), engine.begin() as connection:
        connection.execute(text("UPDATE audit_log SET status = 200"))
    with pytest.raises(Exception, match="append-only"), engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_log"))
    engine.dispose()


def test_the_correlation_id_comes_back_and_travels_in_the_command(
    start_gateway: Callable[..., Gateway], amqp_uri: str
) -> None:
    gateway = start_gateway()
    headers = {**gateway.login(make_account(gateway.db, PARENT)), "X-Correlation-ID": "abc-123-xyz"}

    answer = gateway.client.post("/api/v1/applications", json=form(), headers=headers)
    generated = gateway.client.get("/healthz")

    assert answer.headers["X-Correlation-ID"] == "abc-123-xyz"
    [(command, _)] = drain(amqp_uri, SUBMISSIONS, expect=1)
    assert command["correlation_id"] == "abc-123-xyz"
    assert command["payload"]["owner_id"] == gateway.rows("SELECT id FROM accounts")[0].id
    assert len(generated.headers["X-Correlation-ID"]) == 32


def test_metrics_expose_requests_latency_publishes_limits_overload_and_backlog(
    start_gateway: Callable[..., Gateway],
) -> None:
    gateway = start_gateway(RATE_LIMITS={"submit": "1/minute"}, BACKLOG_REFRESH_SECONDS=0)
    headers = gateway.login(make_account(gateway.db, PARENT))
    gateway.client.post("/api/v1/applications", json=form(), headers=headers)
    gateway.client.post("/api/v1/applications", json=form(), headers=headers)  # 429
    gateway.app.extensions["tuyensinh"].backlog.limit = 0
    other = gateway.login(make_account(gateway.db, PARENT))
    gateway.client.post("/api/v1/applications", json=form(child=child(7)), headers=other)  # 503

    exposed = gateway.client.get("/metrics").get_data(as_text=True)

    route = {"route": "/api/v1/applications", "method": "POST"}
    assert sample(exposed, "gateway_http_requests_total", **route, status="202") == 1
    assert sample(exposed, "gateway_http_requests_total", **route, status="429") == 1
    assert sample(exposed, "gateway_http_requests_total", **route, status="503") == 1
    assert sample(exposed, "gateway_http_request_duration_seconds_count", **route) == 3
    assert sample(exposed, "gateway_publish_confirms_total", command="submit_application") == 1
    assert sample(exposed, "gateway_rate_limited_total", limit="submit") == 1
    assert sample(exposed, "gateway_overloaded_total", reason="backlog") == 1
    assert sample(exposed, "gateway_registration_backlog") == 1
    assert "# TYPE gateway_publish_failures_total counter" in exposed


def sample(exposed: str, name: str, **labels: str) -> float | None:
    """The value of one series in Prometheus' text format, whatever the label order."""
    for family in text_string_to_metric_families(exposed):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return float(found.value)
    return None


def test_roles_are_checked_before_anything_else(start_gateway: Callable[..., Gateway]) -> None:
    gateway = start_gateway()
    staff = gateway.login(make_account(gateway.db, STAFF, school="TH-0001"))
    bad_body = {"nonsense": True}

    anonymous = gateway.client.post("/api/v1/applications", json=bad_body)
    wrong_role = gateway.client.post("/api/v1/applications", json=bad_body, headers=staff)

    assert (anonymous.status_code, anonymous.json["error"]["code"]) == (401, "unauthenticated")
    assert (wrong_role.status_code, wrong_role.json["error"]["code"]) == (403, "forbidden")


def test_a_submission_carries_the_account_and_registration_keeps_it(
    start_gateway: Callable[..., Gateway],
    container_factory: Any,
    make_database: Callable[[str], str],
    service_config: Callable[..., dict[str, Any]],
    bus: Any,
) -> None:
    gateway = start_gateway()
    parent = make_account(gateway.db, PARENT)
    headers = gateway.login(parent)
    registration = container_factory(
        RegistrationService, service_config(make_database("registration"))
    )
    registration.start()
    with entrypoint_waiter(registration, "handle_round_opened"):
        bus.publish_event("allocation", factories.round_opened())
    with entrypoint_waiter(registration, "handle_submit_application"):
        reference = gateway.client.post("/api/v1/applications", json=form(), headers=headers).json[
            "reference"
        ]

    mine = gateway.client.get("/api/v1/applications", headers=headers)
    theirs = gateway.client.get(
        "/api/v1/applications", headers=gateway.login(make_account(gateway.db, PARENT))
    )

    assert [a["reference"] for a in mine.json] == [reference]
    assert "owner_id" not in mine.json[0]
    assert theirs.json == []


def _portal_login(gateway: Gateway, account_id: str) -> Any:
    """A browser of its own (its own cookies) signed in through the portal's login form."""
    browser = gateway.app.test_client()
    page = browser.get("/login", base_url="https://localhost")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert token, page.get_data(as_text=True)[:500]
    login = credentials(gateway.db, account_id)
    form = {"who": login["phone"], "password": login["password"], "csrf_token": token[1]}
    answer = browser.post("/login", data=form, base_url="https://localhost")
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    return browser


def test_portal_pages_count_the_signed_in_account_not_the_shared_address(
    start_gateway: Callable[..., Gateway],
) -> None:
    """Carrier NAT: two families on one address. One family's pages run into its own limit;
    the other's, from the same address, do not; neither did the sign-ins count for them."""
    gateway = start_gateway(RATE_LIMITS={"lookup": "3/minute", "lookup_ip": "100/minute"})
    first, second = (_portal_login(gateway, make_account(gateway.db, PARENT)) for _ in range(2))

    def pages(browser: Any, count: int) -> list[int]:
        return [
            browser.get("/", base_url="https://localhost").status_code  # signed in: counted
            for _ in range(count)
        ]

    assert pages(first, 4) == [200, 200, 200, 429]
    assert pages(second, 3) == [200, 200, 200]  # same address, another account


def test_the_per_address_ceiling_counts_every_account_behind_it_and_only_it(
    start_gateway: Callable[..., Gateway],
) -> None:
    """The ceiling is a flood guard: all accounts of one address together, any route; a
    page's own calls to the API are not counted twice; another address is untouched."""
    gateway = start_gateway(RATE_LIMITS={"ip_ceiling": "5/minute"})
    first, second = (gateway.login(make_account(gateway.db, PARENT)) for _ in range(2))

    def mine(headers: dict[str, str], address: str = "127.0.0.1") -> int:
        environ = {"REMOTE_ADDR": address}
        # A counted route the gateway answers alone (no service runs beside this gateway).
        answer = gateway.client.get("/api/v1/auth/me", headers=headers, environ_base=environ)
        return int(answer.status_code)

    # The two logins above are counted too (5 - 2 = 3 left for this address).
    statuses = [mine(first), mine(second), mine(first), mine(second)]

    assert statuses == [200, 200, 200, 429]
    refused = gateway.client.get("/api/v1/auth/me", headers=second)
    assert refused.json["error"]["code"] == "too_many_requests"
    assert mine(second, address="203.0.113.7") == 200  # another address
