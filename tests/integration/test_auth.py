"""Accounts and tokens through the gateway in-process (Flask test client), with the gateway's
real PostgreSQL database and Redis, and the real notification service on the real broker
texting login codes to tools.sms_sink (the SMS provider's HTTP API, outside the system)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from sqlalchemy import create_engine, text

from gateway.app import create_app
from services.notification.service import NotificationService
from tests.integration.notification_support import SMS_TOKEN, SmsSink
from tests.support.accounts import (
    DEPARTMENT,
    PARENT,
    PASSWORD,
    STAFF,
    bearer,
    credentials,
    gateway_config,
    make_account,
)
from tests.support.processes import Processes
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

PHONE = "0987654321"
E164 = "+84987654321"


@pytest.fixture
def sms(tmp_path: Path) -> Iterator[SmsSink]:
    """The SMS provider's HTTP API, in its own process."""
    processes = Processes(tmp_path / "sms-logs")
    yield SmsSink(processes)
    processes.stop_all()


@pytest.fixture
def notification(
    container_factory: Any,
    make_database: Callable[[str], str],
    service_config: Callable[..., dict[str, Any]],
    sms: SmsSink,
) -> Any:
    """The real notification service, texting through the SMS sink; e-mail off."""
    config = service_config(
        make_database("notification"),
        EMAIL_TRANSPORT="off",
        SMS_TRANSPORT="http",
        SMS_URL=f"{sms.url}/sms",
        SMS_AUTH_VALUE=SMS_TOKEN,
    )
    container = container_factory(NotificationService, config)
    container.start()
    return container


@pytest.fixture
def gateway_db(make_database: Callable[[str], str]) -> str:
    """The gateway's own database."""
    return make_database("gateway")


@pytest.fixture
def client(notification: Any, amqp_uri: str, gateway_db: str) -> Iterator[Any]:
    """An anonymous client of a gateway worker (login codes limited to 3 wrong guesses)."""
    app = create_app(gateway_config(amqp_uri, gateway_db, OTP_MAX_ATTEMPTS=3))
    with app.test_client() as test_client:
        yield test_client
    app.extensions["tuyensinh"].rpc.close()
    app.extensions["db"].dispose()


def texted_code(sms: SmsSink, count: int = 1) -> str:
    """The code in the `count`-th SMS the provider accepted for the test phone."""
    texts = wait_for(
        lambda: [m["text"] for m in sms.messages() if m["to"] == E164][count - 1 :],
        what="the SMS with the code",
    )
    return re.search(r"\b(\d{6})\b", texts[0]).group(1)  # type: ignore[union-attr]


def rows(db_uri: str, query: str) -> list[Any]:
    engine = create_engine(db_uri)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(query)))
    finally:
        engine.dispose()


def test_a_parent_signs_up_and_the_texted_code_verifies_the_phone_and_logs_in(
    client: Any, sms: SmsSink, gateway_db: str
) -> None:
    signup = client.post("/api/v1/auth/signup", json={"phone": PHONE, "password": PASSWORD})

    assert signup.status_code == 202, signup.json
    code = texted_code(sms)
    stored = rows(gateway_db, "SELECT code_hash, attempts FROM otp_challenges")
    assert len(stored) == 1 and code not in stored[0].code_hash  # only a keyed hash is kept
    too_early = client.post("/api/v1/auth/token", json={"phone": PHONE, "password": PASSWORD})
    assert (too_early.status_code, too_early.json["error"]["code"]) == (401, "phone_not_verified")
    wrong = "000000" if code != "000000" else "111111"
    refused = client.post("/api/v1/auth/signup/verify", json={"phone": PHONE, "code": wrong})
    assert (refused.status_code, refused.json["error"]["code"]) == (400, "invalid_code")

    verified = client.post("/api/v1/auth/signup/verify", json={"phone": PHONE, "code": code})

    assert verified.status_code == 200, verified.json
    assert verified.json["role"] == "parent" and verified.json["expires_in"] == 900
    me = client.get("/api/v1/auth/me", headers=bearer(verified.json["access_token"]))
    assert me.json["role"] == "parent"
    again = client.post("/api/v1/auth/signup/verify", json={"phone": PHONE, "code": code})
    assert again.status_code == 400  # a code works once
    [(phone, verified_at)] = rows(gateway_db, "SELECT phone, phone_verified_at FROM accounts")
    assert phone == E164 and verified_at is not None


def test_signing_up_a_phone_that_has_an_account_answers_the_same_and_texts_nothing(
    client: Any, sms: SmsSink, gateway_db: str
) -> None:
    make_account(gateway_db, PARENT, phone=PHONE)

    answer = client.post("/api/v1/auth/signup", json={"phone": PHONE, "password": "another one"})

    assert answer.status_code == 202
    assert answer.json == {"status": "code_sent", "expires_in": 300}
    time.sleep(0.5)
    assert sms.messages() == []
    login = client.post("/api/v1/auth/token", json={"phone": PHONE, "password": "another one"})
    assert login.status_code == 401  # the password did not change


def test_a_code_dies_after_three_wrong_guesses_and_when_it_expires(
    client: Any, sms: SmsSink, gateway_db: str
) -> None:
    client.post("/api/v1/auth/signup", json={"phone": PHONE, "password": PASSWORD})
    code = texted_code(sms)
    wrong = [c for c in ("000000", "111111", "222222", "333333") if c != code][:3]
    for guess in wrong:
        client.post("/api/v1/auth/signup/verify", json={"phone": PHONE, "code": guess})

    late = client.post("/api/v1/auth/signup/verify", json={"phone": PHONE, "code": code})

    assert late.status_code == 400
    client.post("/api/v1/auth/signup", json={"phone": PHONE, "password": PASSWORD})
    fresh = texted_code(sms, count=2)
    engine = create_engine(gateway_db)
    with engine.begin() as connection:
        connection.execute(text("UPDATE otp_challenges SET expires_at = now() - interval '1 s'"))
    engine.dispose()
    expired = client.post("/api/v1/auth/signup/verify", json={"phone": PHONE, "code": fresh})
    assert expired.status_code == 400


def test_a_parent_logs_in_with_a_texted_code(client: Any, sms: SmsSink, gateway_db: str) -> None:
    make_account(gateway_db, PARENT, phone=PHONE)

    assert client.post("/api/v1/auth/code", json={"phone": PHONE}).status_code == 202
    code = texted_code(sms)
    login = client.post("/api/v1/auth/token", json={"phone": PHONE, "code": code})

    assert login.status_code == 200 and login.json["role"] == "parent"
    unknown = client.post("/api/v1/auth/code", json={"phone": "0911111111"})
    assert unknown.status_code == 202  # the same answer; nothing is texted to a stranger


def test_every_wrong_login_gets_one_and_the_same_answer(client: Any, gateway_db: str) -> None:
    parent = make_account(gateway_db, PARENT, phone=PHONE)
    staff = make_account(gateway_db, STAFF, username="lan.th0001", school="TH-0001")

    answers = [
        client.post("/api/v1/auth/token", json={"phone": PHONE, "password": "wrong password"}),
        client.post("/api/v1/auth/token", json={"phone": "0900000000", "password": PASSWORD}),
        client.post("/api/v1/auth/token", json={"username": "nobody", "password": PASSWORD}),
        client.post("/api/v1/auth/token", json={"username": "lan.th0001", "password": "x"}),
    ]

    assert {(a.status_code, a.json["error"]["message"]) for a in answers} == {
        (401, "The phone, username, password or code is not right.")
    }
    assert (
        client.post("/api/v1/auth/token", json=credentials(gateway_db, parent)).status_code == 200
    )
    staff_login = client.post("/api/v1/auth/token", json=credentials(gateway_db, staff))
    assert (staff_login.json["role"], staff_login.json["school_code"]) == ("staff", "TH-0001")


def test_refresh_rotates_and_a_reused_refresh_token_ends_the_whole_login(
    client: Any, gateway_db: str
) -> None:
    parent = make_account(gateway_db, PARENT)
    first = client.post("/api/v1/auth/token", json=credentials(gateway_db, parent)).json

    second = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    assert second.json["refresh_token"] != first["refresh_token"]

    replayed = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replayed.status_code == 401
    # The replay revoked the family: the newest refresh token is dead too.
    latest = client.post(
        "/api/v1/auth/refresh", json={"refresh_token": second.json["refresh_token"]}
    )
    assert latest.status_code == 401


def test_logout_revokes_the_access_token_and_the_refresh_token(
    client: Any, gateway_db: str
) -> None:
    parent = make_account(gateway_db, PARENT)
    tokens = client.post("/api/v1/auth/token", json=credentials(gateway_db, parent)).json
    headers = bearer(tokens["access_token"])
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200

    out = client.post(
        "/api/v1/auth/logout", headers=headers, json={"refresh_token": tokens["refresh_token"]}
    )

    assert out.status_code == 204
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    again = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 401


def test_forged_expired_and_unsigned_tokens_are_401(client: Any, gateway_db: str) -> None:
    parent = make_account(gateway_db, PARENT)
    now = int(time.time())
    claims = {"iss": "tuyensinh-gateway", "sub": parent, "role": "department", "jti": "x"}
    forged = jwt.encode({**claims, "iat": now, "exp": now + 60}, "not-the-secret-at-all-0123")
    expired = jwt.encode(
        {**claims, "iat": now - 999, "exp": now - 60}, "test-token-secret-0123456789"
    )
    unsigned = jwt.encode({**claims, "iat": now, "exp": now + 60}, None, algorithm="none")

    for token in (forged, expired, unsigned, "garbage"):
        answer = client.get("/api/v1/rounds/2027-grade_1", headers=bearer(token))
        assert answer.status_code == 401, token
        assert answer.headers["WWW-Authenticate"] == "Bearer"


def test_sign_up_refuses_fields_it_does_not_know_and_creates_nothing(
    client: Any, gateway_db: str, sms: SmsSink
) -> None:
    body = {"phone": PHONE, "password": PASSWORD, "role": DEPARTMENT, "school_code": "TH-0001"}

    answer = client.post("/api/v1/auth/signup", json=body)

    assert answer.status_code == 400
    assert answer.json["error"]["fields"].keys() == {"role", "school_code"}
    assert rows(gateway_db, "SELECT id FROM accounts") == []
    assert sms.requests() == 0


def test_logins_and_sign_ups_are_in_the_audit_log_without_secrets(
    client: Any, gateway_db: str
) -> None:
    parent = make_account(gateway_db, PARENT, phone=PHONE)
    client.post("/api/v1/auth/token", json={"phone": PHONE, "password": "wrong password"})
    client.post("/api/v1/auth/token", json=credentials(gateway_db, parent))

    entries = rows(gateway_db, "SELECT action, actor_id, role, status, ip, objects FROM audit_log")

    assert [(e.action, e.actor_id, e.status) for e in entries] == [
        ("auth.log_in", None, 401),
        ("auth.log_in", parent, 200),
    ]
    assert entries[1].ip == "127.0.0.1" and entries[1].role == "parent"
    assert PASSWORD not in str(entries) and PHONE not in str(entries)
