"""Gateway accounts for tests: made in the gateway's real database, the way the admin CLI
makes them, then logged in through the real /api/v1/auth/token route."""

from __future__ import annotations

import uuid
from typing import Any

from gateway.auth import accounts
from gateway.auth.passwords import Passwords
from gateway.auth.roles import DEPARTMENT, HELPDESK, PARENT, STAFF
from gateway.db import GatewayDatabase, utcnow

PASSWORD = "correct horse battery"
# Cheap argon2 parameters for tests: the cost is a setting, the code path is the same.
FAST_ARGON2 = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_KIB": 1024}
_hasher = Passwords(time_cost=1, memory_kib=1024)


def gateway_config(amqp_uri: str, gateway_db: str, **extra: Any) -> dict[str, Any]:
    """Settings of an in-process gateway under test (the rest comes from gateway/config.yml).

    Each gateway gets its own key prefix in Redis, so no two tests share rate-limit counters.
    """
    return {
        "AMQP_URI": amqp_uri,
        "GATEWAY_DB_URI": gateway_db,
        "GATEWAY_DB_POOL_SIZE": 4,
        "REFERENCE_SECRET": "test-secret",
        "TOKEN_SECRET": "test-token-secret-0123456789",
        "RATELIMIT_KEY_PREFIX": f"ts-test-{uuid.uuid4().hex[:10]}",
        "RPC_POOL_SIZE": 4,
        "RPC_TIMEOUT_SECONDS": 5,
        "PRODUCER_POOL_SIZE": 8,
        "ROUND_CACHE_SECONDS": 300,
        "RETRY_DELAYS_MS": [100, 300],
        **FAST_ARGON2,
        **extra,
    }


# Where an operator's test account works when a test does not say: staff at a demo school,
# a help desk in a demo ward (an operator must be bound to one; the department to neither).
DEFAULT_BINDING: dict[str, tuple[str | None, str | None]] = {
    STAFF: ("TH-0001", None),
    HELPDESK: (None, "00004"),
}


def make_account(
    gateway_db: str,
    role: str,
    *,
    phone: str | None = None,
    username: str | None = None,
    school: str | None = None,
    ward: str | None = None,
    password: str = PASSWORD,
    verified: bool = True,
) -> str:
    """Create an account directly in the gateway's database; returns its id. An operator
    given neither a school nor a ward gets its role's usual one (`DEFAULT_BINDING`)."""
    if school is None and ward is None:
        school, ward = DEFAULT_BINDING.get(role, (None, None))
    db = GatewayDatabase(gateway_db, pool_size=1)
    try:
        with db.session() as session:
            if role == PARENT:
                account = accounts.add_parent(session, phone or _phone(), _hasher.hash(password))
                account.phone_verified_at = utcnow() if verified else None
            else:
                name = username or f"{role}.{uuid.uuid4().hex[:8]}"
                hashed = _hasher.hash(password)
                account = accounts.add_operator(session, role, name, hashed, school, ward)
            session.flush()
            return account.id
    finally:
        db.dispose()


def account_row(gateway_db: str, account_id: str) -> Any:
    """The stored account (detached), to read its phone or username."""
    from gateway.auth.models import Account

    db = GatewayDatabase(gateway_db, pool_size=1)
    try:
        with db.session() as session:
            return session.get(Account, account_id)
    finally:
        db.dispose()


def credentials(gateway_db: str, account_id: str, password: str = PASSWORD) -> dict[str, str]:
    """The login body of an account made by `make_account`."""
    row = account_row(gateway_db, account_id)
    if row.role == PARENT:
        return {"phone": row.phone, "password": password}
    return {"username": row.username, "password": password}


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of an access token."""
    return {"Authorization": f"Bearer {token}"}


def _phone() -> str:
    return "09" + str(uuid.uuid4().int)[:8]


__all__ = [
    "DEPARTMENT",
    "HELPDESK",
    "PARENT",
    "STAFF",
    "account_row",
    "bearer",
    "credentials",
    "gateway_config",
    "make_account",
]
