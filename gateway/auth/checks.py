"""The two questions every request asks Redis, in one round trip: has this access token been
revoked, and is the caller over the route's rate limit?

At the opening-morning peak each submission asked them one after the other, two round trips
of the gateway's few milliseconds. One Lua script answers both, atomically, on the same keys
that `gateway.ratelimit` and `gateway.auth.revocation` use, with the same fixed-window rule
as the `limits` library (count, and start the window's expiry on its first hit). A revoked
token is not counted. Where Redis is absent (memory fallback) the two objects answer in turn.
"""

from __future__ import annotations

from typing import Any

from gateway.auth.revocation import Denylist
from gateway.errors import unauthenticated
from gateway.ratelimit import RateLimits

# KEYS[1]: the token's denylist key, KEYS[2]: the counter. ARGV: check the token (0/1),
# count (0/1), the window in seconds. Returns {revoked, count, seconds left in the window}.
SCRIPT = """
if ARGV[1] == '1' and redis.call('EXISTS', KEYS[1]) == 1 then
  return {1, 0, 0}
end
if ARGV[2] ~= '1' then
  return {0, 0, 0}
end
local count = redis.call('INCR', KEYS[2])
if count == 1 then
  redis.call('EXPIRE', KEYS[2], ARGV[3])
end
return {0, count, redis.call('TTL', KEYS[2])}
"""
NONE = "-"  # a key argument that is not looked at


class RequestChecks:
    """`check(token_id, limit, key)`: 401 if the token was revoked, else 429 if this request
    puts `key` over `limit` (counting it), else nothing."""

    def __init__(self, denylist: Denylist, limits: RateLimits) -> None:
        self.denylist, self.limits = denylist, limits
        client = limits.redis
        self._script: Any = client.register_script(SCRIPT) if client is not None else None

    def check(self, token_id: str | None, limit: str | None, key: str | None) -> None:
        """Ask both questions; either may be absent (a public route, a route without limit)."""
        if self._script is None:
            self._one_by_one(token_id, limit, key)
            return
        counter, window = self.limits.counter(limit, key) if limit and key else (NONE, 0)
        token_key = self.denylist.key(token_id) if token_id else NONE
        try:
            revoked, count, ttl = self._script(
                keys=[token_key, counter], args=[int(token_key != NONE), int(window > 0), window]
            )
        except Exception as exc:  # as each check alone: the token's short life bounds it
            self.limits.storage_failed(exc)
            return
        if revoked:
            raise unauthenticated("The token was revoked; log in again.")
        if limit and window and count > self.limits.allowance(limit):
            self.limits.refuse(limit, int(ttl))

    def _one_by_one(self, token_id: str | None, limit: str | None, key: str | None) -> None:
        if token_id is not None and self.denylist.is_revoked(token_id):
            raise unauthenticated("The token was revoked; log in again.")
        if limit and key:
            self.limits.hit(limit, key)
