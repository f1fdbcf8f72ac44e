"""Rate limits (the `limits` library) on Redis, so they hold across workers and replicas.

Each limit has a name and a rate from `RATE_LIMITS` in gateway/config.yml, e.g.
`login_ip: 30/minute`. Exceeding one answers 429 with Retry-After in the house error shape.
Where Redis is absent (`make run` on a bare machine) the counters fall back to this worker's
memory, with a warning: limits then hold per worker only.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import FixedWindowRateLimiter

from gateway.errors import ApiError

log = logging.getLogger(__name__)


def connect_storage(config: dict[str, Any]) -> Storage:
    """Redis at `RATELIMIT_STORAGE_URI` if it answers; else memory, if `RATELIMIT_FALLBACK`
    allows it (it does in development), else refuse to start."""
    uri = str(config["RATELIMIT_STORAGE_URI"])
    if uri.startswith("memory"):
        return MemoryStorage()
    storage = RedisStorage(
        uri,
        key_prefix=str(config.get("RATELIMIT_KEY_PREFIX", "tuyensinh")),
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
    )
    if storage.check():
        return storage
    if str(config.get("RATELIMIT_FALLBACK", "memory")) != "memory":
        raise RuntimeError(f"rate-limit storage {uri} does not answer")
    log.warning(
        "rate-limit storage %s does not answer: counting in this worker's memory instead "
        "(limits hold per worker only; token revocation too)",
        uri.split("@")[-1],
    )
    return MemoryStorage()


class RateLimits:
    """Named limits over one storage; `hit(name, key)` counts a request or raises 429."""

    def __init__(self, storage: Storage, rates: dict[str, str], metrics: Any = None) -> None:
        self.storage = storage
        self._limiter = FixedWindowRateLimiter(storage)
        self._items: dict[str, RateLimitItem] = {name: parse(rate) for name, rate in rates.items()}
        self._names = frozenset(self._items)
        self._metrics = metrics
        self._failing_since: float | None = None

    @property
    def names(self) -> frozenset[str]:
        """The configured limit names (asked on every limited request: made once)."""
        return self._names

    @property
    def redis(self) -> Any:
        """The Redis client behind the counters, or None when they are in memory."""
        return self.storage.storage if isinstance(self.storage, RedisStorage) else None

    def counter(self, name: str, key: str) -> tuple[str, int]:
        """The Redis key that counts `key` against limit `name`, and its window in seconds."""
        item = self._items[name]
        return self.storage.prefixed_key(item.key_for(name, key)), item.get_expiry()  # type: ignore[attr-defined]

    def allowance(self, name: str) -> int:
        """How many requests limit `name` allows per window."""
        return self._items[name].amount

    def hit(self, name: str, key: str) -> None:
        """Count one request of `key` (an IP, an account, a phone) against limit `name`."""
        item = self._items[name]
        try:
            allowed = self._limiter.hit(item, name, key)
            if allowed:
                self._failing_since = None
                return
            reset_at, _ = self._limiter.get_window_stats(item, name, key)
        except Exception as exc:  # the store is down: let traffic through, say so once a minute
            self.storage_failed(exc)
            return
        self.refuse(name, math.ceil(reset_at - time.time()))

    def refuse(self, name: str, retry_after: int) -> None:
        """429 for limit `name`, to be tried again in `retry_after` seconds (at least 1)."""
        retry_after = max(1, retry_after)
        if self._metrics is not None:
            self._metrics.rate_limited.labels(limit=name).inc()
        raise ApiError(
            429,
            "too_many_requests",
            f"Too many requests; try again in {retry_after} seconds.",
            headers={"Retry-After": str(retry_after)},
        )

    def storage_failed(self, exc: Exception) -> None:
        """The store did not answer: traffic goes through unlimited; say so once a minute."""
        now = time.monotonic()
        if self._failing_since is None or now - self._failing_since > 60:
            self._failing_since = now
            log.warning("rate-limit storage failed (%s): not limiting", type(exc).__name__)
