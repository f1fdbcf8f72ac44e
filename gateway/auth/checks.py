"""The questions every request asks before its view: has this access token been revoked, is
the caller (an account, else an address) over the route's rate limit, and is its address over
the per-address ceiling (`ip_ceiling`, a flood guard only)?

At the opening-morning peak these were one Redis round trip per request (a Lua script), about
0.9 ms of a worker's CPU per submission under gevent. Now the hot path asks no one: the
denylist is this worker's copy (gateway.auth.revocation), and the limits in
`RATE_LIMITS_SYNCED` are counted in the worker (gateway.ratelimit_sync); a background
`Syncer` keeps both in step with Redis. The other limits (logins, codes, sign-ups: rare
requests where an exact count matters more than a round trip) are still counted in Redis by
one script, with the same fixed-window rule as the `limits` library. A revoked token is not
counted. Where Redis is absent (memory fallback) the limits are counted one by one in memory.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from typing import Any

from gateway.auth.revocation import Denylist
from gateway.errors import unauthenticated
from gateway.ratelimit import RateLimits
from gateway.ratelimit_sync import SyncedCounters

log = logging.getLogger(__name__)
# KEYS[1], KEYS[2]: counters; ARGV: their windows in seconds (0: not counted).
# Returns {count, seconds left, count, seconds left}.
SCRIPT = """
local answer = {0, 0, 0, 0}
for i = 1, 2 do
  if ARGV[i] ~= '0' then
    local count = redis.call('INCR', KEYS[i])
    if count == 1 then
      redis.call('EXPIRE', KEYS[i], ARGV[i])
    end
    answer[2 * i - 1] = count
    answer[2 * i] = redis.call('TTL', KEYS[i])
  end
end
return answer
"""
NONE = "-"  # a key argument that is not looked at
CEILING = "ip_ceiling"  # the per-address flood guard's name in RATE_LIMITS


class RequestChecks:
    """`check(token_id, limit, key, ip)`: 401 if the token was revoked, else 429 if this
    request puts `key` over `limit` or `ip` over the ceiling (counting it), else nothing."""

    def __init__(
        self,
        denylist: Denylist,
        limits: RateLimits,
        synced: frozenset[str] = frozenset(),
        sync_seconds: float = 0.2,
    ) -> None:
        self.denylist, self.limits = denylist, limits
        client = limits.redis
        self._script: Any = client.register_script(SCRIPT) if client is not None else None
        self.counters = SyncedCounters(limits, client) if client is not None else None
        self._synced = synced & limits.names if client is not None else frozenset()
        self._syncer = Syncer(self, sync_seconds) if client is not None else None

    def check(
        self, token_id: str | None, limit: str | None, key: str | None, ip: str | None = None
    ) -> None:
        """Ask the questions; any may be absent (a public route, a route without limit, a
        request that is part of another one, or no `ip_ceiling` configured)."""
        if self._syncer is not None:
            self._syncer.ensure_running()
        if token_id is not None and self.denylist.is_revoked(token_id):
            raise unauthenticated("The token was revoked; log in again.")
        ceiling = CEILING if ip and CEILING in self.limits.names else None
        exact: list[tuple[str, str]] = []
        for name, subject in ((limit, key), (ceiling, ip)):
            if not name or not subject:
                continue
            if self.counters is not None and name in self._synced:
                retry_after = self.counters.hit(name, subject)
                if retry_after is not None:
                    self.limits.refuse(name, retry_after)
            else:
                exact.append((name, subject))
        if exact:
            self._exactly(exact)

    def _exactly(self, counted: list[tuple[str, str]]) -> None:
        """Count in Redis (one round trip), or in memory one by one where Redis is absent."""
        if self._script is None:
            for name, subject in counted:
                self.limits.hit(name, subject)
            return
        pairs = [self.limits.counter(name, subject) for name, subject in counted]
        pairs += [(NONE, 0)] * (2 - len(pairs))
        try:
            reply = self._script(keys=[k for k, _ in pairs], args=[w for _, w in pairs])
        except Exception as exc:  # the store is down: let traffic through, say so
            self.limits.storage_failed(exc)
            return
        for number, (name, _) in enumerate(counted):
            count, left = int(reply[2 * number]), int(reply[2 * number + 1])
            if count > self.limits.allowance(name):
                self.limits.refuse(name, left)


class Syncer:
    """One background loop per worker: the synced counters every `sync_seconds`, the
    denylist every `denylist.refresh_seconds`. Started by the first request (after gunicorn
    forked the worker); it ends once its checks are gone (an app dropped by a test)."""

    def __init__(self, checks: RequestChecks, sync_seconds: float) -> None:
        self._checks = weakref.ref(checks)
        self.sync_seconds = sync_seconds
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def ensure_running(self) -> None:
        """Start the loop if it is not running (cheap when it is)."""
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=_loop, args=(self._checks, self.sync_seconds), daemon=True
                )
                self._thread.start()


def _loop(ref: weakref.ref[RequestChecks], sync_seconds: float) -> None:
    read_at = 0.0
    while True:
        time.sleep(sync_seconds)
        checks = ref()
        if checks is None:
            return
        try:
            if checks.counters is not None:
                checks.counters.sync()
            if time.monotonic() - read_at >= checks.denylist.refresh_seconds:
                read_at = time.monotonic()
                checks.denylist.refresh()
        except Exception:  # never let the loop die: the next turn tries again
            log.exception("rate-limit and revocation sync failed")
        del checks
