"""Rate limits counted in the worker and added to Redis in batches, off the request's path.

Asking Redis on every request cost the gateway ~0.9 ms of a worker's CPU per submission under
gevent (send, wake, read), more than the rest of the check. For the limits named in
`RATE_LIMITS_SYNCED` each worker keeps its own fixed windows: a request is counted in memory
and refused when this worker's hits not yet sent plus the shared count Redis last reported
reach the allowance. Every `RATE_LIMIT_SYNC_SECONDS` (0.2 s) the background syncer
(gateway.auth.checks.Syncer) adds the hits of every window touched to its Redis counter in
one round trip (the same keys and window rule as the `limits` library: the expiry starts at
the first hit) and reads back each shared count and how long the window has left.

The overshoot, across W workers: each enforces the limit on what it knows, so a caller can
exceed a limit by what it lands on the other workers within one sync interval before they
have read the shared count (never more than (W - 1) times the allowance in one window).
Login, code and sign-up limits are not synced this way: they stay exact, one round trip each
(gateway.auth.checks). If Redis does not answer, each worker keeps limiting on its own
counts (per worker, as with the memory fallback) and adds them once Redis answers again.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from gateway.ratelimit import RateLimits

# KEYS: counters; ARGV: for each, the hits to add and the window in seconds.
# Returns for each {count, seconds left}.
SCRIPT = """
local answer = {}
for i, key in ipairs(KEYS) do
  local count = redis.call('INCRBY', key, ARGV[2 * i - 1])
  if redis.call('TTL', key) < 0 then
    redis.call('EXPIRE', key, ARGV[2 * i])
  end
  answer[2 * i - 1] = count
  answer[2 * i] = redis.call('TTL', key)
end
return answer
"""
BATCH = 500  # counters per script call


@dataclass
class Window:
    """One counter's window in this worker."""

    allowance: int
    seconds: int
    ends: float  # Unix time the window closes (Redis's TTL once synced)
    known: int = 0  # the shared count when Redis last said (every worker's hits)
    pending: int = 0  # this worker's hits not yet added to Redis


class SyncedCounters:
    """`hit(name, key)`: None if allowed (and counted), else the seconds to Retry-After."""

    def __init__(self, limits: RateLimits, redis: Any) -> None:
        self.limits = limits
        self._script = redis.register_script(SCRIPT)
        self._windows: dict[str, Window] = {}
        self._lock = threading.Lock()

    def hit(self, name: str, key: str) -> int | None:
        """Count one request of `key` against limit `name`, in this worker's memory."""
        counter, seconds = self.limits.counter(name, key)
        now = time.time()
        with self._lock:
            window = self._windows.get(counter)
            if window is None or window.ends <= now:
                window = Window(self.limits.allowance(name), seconds, now + seconds)
                self._windows[counter] = window
            if window.known + window.pending >= window.allowance:
                return max(1, math.ceil(window.ends - now))
            window.pending += 1
            return None

    def sync(self) -> None:
        """Add every window's unsent hits to Redis and read back the shared counts."""
        now = time.time()
        with self._lock:
            for gone in [k for k, w in self._windows.items() if w.ends <= now]:
                del self._windows[gone]  # a closed window's unsent hits count for nothing
            batch = [(k, w, w.pending) for k, w in self._windows.items() if w.pending]
        for start in range(0, len(batch), BATCH):
            self._send(batch[start : start + BATCH])

    def _send(self, batch: list[tuple[str, Window, int]]) -> None:
        args: list[int] = []
        for _, window, sent in batch:
            args += [sent, window.seconds]
        try:
            reply = self._script(keys=[key for key, _, _ in batch], args=args)
        except Exception as exc:  # kept, and sent once Redis answers
            self.limits.storage_failed(exc)
            return
        now = time.time()
        with self._lock:
            for number, (_, window, sent) in enumerate(batch):
                count, left = int(reply[2 * number]), int(reply[2 * number + 1])
                window.pending -= sent
                window.known = count
                if left > 0:
                    window.ends = now + left
