"""The request checks when Redis stops answering after start-up: synced limits keep counting
in the worker, exact ones let traffic through (as before), the denylist's copy answers, and
no request waits on the dead store more than once a refresh interval."""

from __future__ import annotations

import time

import pytest
from limits.storage import RedisStorage

from gateway.auth.checks import RequestChecks
from gateway.auth.revocation import Denylist
from gateway.errors import ApiError
from gateway.ratelimit import RateLimits
from tests.support.processes import free_port


@pytest.fixture
def checks() -> RequestChecks:
    storage = RedisStorage(
        f"redis://127.0.0.1:{free_port()}/0", socket_timeout=0.2, socket_connect_timeout=0.2
    )
    limits = RateLimits(storage, {"submit": "2/minute", "login_ip": "1/minute"})
    denylist = Denylist(storage, refresh_seconds=5)
    return RequestChecks(denylist, limits, frozenset({"submit"}), sync_seconds=60)


def test_a_synced_limit_still_holds_in_the_worker_when_redis_is_down(
    checks: RequestChecks,
) -> None:
    checks.check(None, "submit", "account-1")
    checks.check(None, "submit", "account-1")
    assert checks.counters is not None
    checks.counters.sync()  # fails: the hits stay counted here

    with pytest.raises(ApiError) as refused:
        checks.check(None, "submit", "account-1")

    assert refused.value.status == 429
    assert 55 <= int(refused.value.headers["Retry-After"]) <= 60


def test_an_exact_limit_lets_traffic_through_when_redis_is_down(checks: RequestChecks) -> None:
    for _ in range(3):
        checks.check(None, "login_ip", "10.0.0.1")  # no 429: the store did not answer


def test_the_denylist_copy_answers_and_redis_is_asked_once_per_interval(
    checks: RequestChecks,
) -> None:
    checks.denylist.revoke("jti-1", int(time.time()) + 600)  # kept here, not in Redis
    started = time.monotonic()

    answers = [checks.denylist.is_revoked("jti-1") for _ in range(20)]

    assert answers == [True] * 20
    assert time.monotonic() - started < 1  # one failed read, not one per request
