"""The denylist of access tokens revoked before their expiry (logout), by token id (`jti`).

Every request asks it, so it is answered from this worker's memory. Where Redis is there
(shared by every worker and replica), a revocation is also appended to a Redis stream, and
each worker reads what was appended since it last looked: in the background every
`refresh_seconds` (gateway.auth.checks.Syncer), and, should that fall behind (a worker
starved of CPU), before answering a request once its copy is older than twice that. So a
revoked token is refused on the worker that revoked it at once, and on every other one
within about a second. The stream keeps entries as long as a token lives (older ones
trimmed as new ones arrive): a worker that starts reads every revocation still in force.
If Redis does not answer, the copy read last keeps answering, and the token's short life is
the bound for what was revoked meanwhile (as when each request asked Redis and it failed).
Where Redis is absent (memory fallback), the denylist is this worker's memory only.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from limits.storage import RedisStorage, Storage

log = logging.getLogger(__name__)


class Denylist:
    """Revoked access-token ids until their expiry: in memory, kept in step through Redis."""

    def __init__(
        self, storage: Storage, token_seconds: int = 3600, refresh_seconds: float = 1.0
    ) -> None:
        self._redis: Any = storage.storage if isinstance(storage, RedisStorage) else None
        prefix = getattr(storage, "key_prefix", "tuyensinh")
        self._prefix = f"{prefix}:revoked:"
        self.stream = f"{prefix}:revocations"
        self._keep_ms = (token_seconds + 60) * 1000  # a stream entry outlives its token
        self.refresh_seconds = refresh_seconds
        self._memory: dict[str, float] = {}  # token id -> until (Unix seconds)
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()
        self._last_id = "0"  # the stream entry read last ("0": read from the start)
        self._read_at = float("-inf")  # monotonic time of the last successful read
        self._failed_at = float("-inf")

    def key(self, token_id: str) -> str:
        """The Redis key that marks `token_id` revoked (kept for any reader that asks it)."""
        return self._prefix + token_id

    def revoke(self, token_id: str, expires_at: int) -> None:
        """Refuse the token from now until `expires_at` (Unix seconds)."""
        ttl = max(1, int(expires_at - time.time()) + 5)
        with self._lock:
            self._memory[token_id] = time.time() + ttl
            self._purge(time.time())
        if self._redis is None:
            return
        oldest = f"{max(0, int(time.time() * 1000) - self._keep_ms)}-0"
        try:
            with self._redis.pipeline(transaction=False) as pipe:
                pipe.set(self.key(token_id), "1", ex=ttl)
                fields = {"jti": token_id, "until": str(int(time.time()) + ttl)}
                pipe.xadd(self.stream, fields, minid=oldest, approximate=True)
                pipe.execute()
        except Exception as exc:  # the token still dies at its expiry, minutes from now
            log.warning("access token not denylisted (%s)", type(exc).__name__)

    def is_revoked(self, token_id: str) -> bool:
        """Whether the token was revoked (this worker's copy; refreshed first if stale)."""
        if self._redis is not None and time.monotonic() - self._read_at > 2 * self.refresh_seconds:
            self.refresh(stale_only=True)
        until = self._memory.get(token_id)
        return until is not None and until >= time.time()

    def refresh(self, stale_only: bool = False) -> None:
        """Read the revocations appended since the last read (one round trip); with
        `stale_only`, only if no other caller did so meanwhile."""
        if self._redis is None:
            return
        with self._refreshing:
            started = time.monotonic()
            if stale_only and started - self._read_at <= 2 * self.refresh_seconds:
                return  # another caller read it while this one waited
            if stale_only and started - self._failed_at < self.refresh_seconds:
                return  # Redis failed a moment ago: do not make every request wait on it
            try:
                entries = self._redis.xrange(self.stream, min=f"({self._last_id}", max="+")
            except Exception as exc:
                if started - self._failed_at > 60:
                    log.warning("revocations not read (%s): the last copy answers", exc)
                self._failed_at = started
                return
            self._read_at = started
            self._take(entries)

    def _take(self, entries: list[tuple[Any, dict[Any, Any]]]) -> None:
        now = time.time()
        with self._lock:
            for entry_id, fields in entries:
                jti, until = _field(fields, "jti"), float(_field(fields, "until") or 0)
                if jti and until >= now:
                    self._memory[jti] = max(until, self._memory.get(jti, 0))
                self._last_id = _text(entry_id)
            self._purge(now)

    def _purge(self, now: float) -> None:
        """Forget tokens past their expiry (called holding `_lock`), now and then."""
        if len(self._memory) > 1024:
            for gone in [jti for jti, until in self._memory.items() if until < now]:
                del self._memory[gone]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


def _field(fields: dict[Any, Any], name: str) -> str:
    return _text(fields.get(name.encode(), fields.get(name)))
