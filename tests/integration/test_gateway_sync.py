"""Revocations and rate limits kept in each gateway worker and synced through the real Redis
(gateway.auth.revocation, gateway.ratelimit_sync): a token revoked on one worker is refused
on another within about a second, and a limit counted in batches holds across workers."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest
import redis
from limits.storage import RedisStorage

from gateway.auth.revocation import Denylist
from tests.integration.test_gateway_protection import (  # noqa: F401 - a fixture
    Gateway,
    child,
    start_gateway,
)
from tests.support.accounts import PARENT, make_account
from tests.support.forms import form

pytestmark = pytest.mark.integration

REDIS = "redis://127.0.0.1:6379/0"


def _shared() -> dict[str, str]:
    """Settings that make two in-process apps two workers of one gateway."""
    return {"RATELIMIT_KEY_PREFIX": f"ts-test-{uuid.uuid4().hex[:10]}"}


def test_a_token_revoked_on_one_worker_is_refused_on_another_within_about_a_second(
    start_gateway: Callable[..., Gateway],  # noqa: F811 - the imported fixture
) -> None:
    shared = _shared()
    one = start_gateway(**shared)
    two = start_gateway(**shared)
    account = make_account(one.db, PARENT)
    token = one.login(account)
    before = two.client.post("/api/v1/applications", json=form(child=child(1)), headers=token)
    assert before.status_code == 202  # the worker's background sync is running

    assert one.client.post("/api/v1/auth/logout", headers=token, json={}).status_code == 204
    revoked_at = time.monotonic()
    here = one.client.post("/api/v1/applications", json=form(child=child(2)), headers=token)
    assert here.status_code == 401  # on the worker that revoked it: at once
    number, answer = 3, None
    while time.monotonic() - revoked_at < 3:
        answer = two.client.post(
            "/api/v1/applications", json=form(child=child(number)), headers=token
        )
        if answer.status_code == 401:
            break
        number += 1
        time.sleep(0.05)
    waited = time.monotonic() - revoked_at

    assert answer is not None and answer.status_code == 401, answer and answer.json
    assert answer.json["error"]["message"] == "The token was revoked; log in again."
    assert waited <= 1.5


def test_a_worker_whose_copy_is_stale_reads_the_revocations_before_answering() -> None:
    """Should the background sync fall behind (a worker starved of CPU), the request that
    finds the copy older than twice the refresh interval reads it first."""
    prefix = f"ts-test-{uuid.uuid4().hex[:10]}"
    one = Denylist(RedisStorage(REDIS, key_prefix=prefix), refresh_seconds=0.1)
    two = Denylist(RedisStorage(REDIS, key_prefix=prefix), refresh_seconds=0.1)
    assert not two.is_revoked("jti-1")  # read now: fresh for 0.2 s

    one.revoke("jti-1", int(time.time()) + 600)
    time.sleep(0.25)  # no background loop here: only the request path reads

    assert two.is_revoked("jti-1")
    late = Denylist(RedisStorage(REDIS, key_prefix=prefix))
    assert late.is_revoked("jti-1")  # a worker started later reads what is still in force


def test_a_limit_counted_in_batches_holds_across_workers(
    start_gateway: Callable[..., Gateway],  # noqa: F811 - the imported fixture
) -> None:
    """Each worker counts in memory and adds its hits to Redis every 0.2 s: a worker that has
    not read the shared count yet may let one more through (the documented overshoot), then
    it refuses with the shared window's Retry-After."""
    shared = {**_shared(), "RATE_LIMITS": {"submit": "3/minute"}}
    one = start_gateway(**shared)
    two = start_gateway(**shared)
    token = one.login(make_account(one.db, PARENT))
    post = [
        lambda n: one.client.post("/api/v1/applications", json=form(child=child(n)), headers=token),
        lambda n: two.client.post("/api/v1/applications", json=form(child=child(n)), headers=token),
    ]

    first = [post[0](n).status_code for n in range(4)]
    time.sleep(0.6)  # one's hits reach Redis
    overshoot = post[1](10).status_code
    time.sleep(0.6)  # two's hit reaches Redis, and two reads the shared count
    later = [post[1](11 + n) for n in range(3)]
    back_on_one = post[0](20)

    assert first == [202, 202, 202, 429]  # exact within one worker
    assert overshoot == 202
    assert [answer.status_code for answer in later] == [429, 429, 429]
    assert 50 <= int(later[0].headers["Retry-After"]) <= 60
    assert back_on_one.status_code == 429
    prefix = shared["RATELIMIT_KEY_PREFIX"]
    counters = redis.Redis.from_url(REDIS)
    keys = counters.keys(f"{prefix}*submit*")
    assert [int(counters.get(key) or 0) for key in keys] == [4]  # every 202 counted
