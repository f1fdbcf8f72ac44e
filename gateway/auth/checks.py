"""The questions every request asks Redis, in one round trip: has this access token been
revoked, is the caller (an account, else an address) over the route's rate limit, and is its
address over the per-address ceiling (`ip_ceiling`, a flood guard only)?

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

# KEYS[1]: the token's denylist key, KEYS[2]: the route's counter, KEYS[3]: the address's
# ceiling counter. ARGV: check the token (0/1), the two windows in seconds (0: not counted).
# Returns {revoked, count, seconds left, ceiling count, seconds left}.
SCRIPT = """
if ARGV[1] == '1' and redis.call('EXISTS', KEYS[1]) == 1 then
  return {1, 0, 0, 0, 0}
end
local answer = {0, 0, 0, 0, 0}
for i = 2, 3 do
  if ARGV[i] ~= '0' then
    local count = redis.call('INCR', KEYS[i])
    if count == 1 then
      redis.call('EXPIRE', KEYS[i], ARGV[i])
    end
    answer[2 * i - 2] = count
    answer[2 * i - 1] = redis.call('TTL', KEYS[i])
  end
end
return answer
"""
NONE = "-"  # a key argument that is not looked at
CEILING = "ip_ceiling"  # the per-address flood guard's name in RATE_LIMITS


class RequestChecks:
    """`check(token_id, limit, key, ip)`: 401 if the token was revoked, else 429 if this
    request puts `key` over `limit` or `ip` over the ceiling (counting it), else nothing."""

    def __init__(self, denylist: Denylist, limits: RateLimits) -> None:
        self.denylist, self.limits = denylist, limits
        client = limits.redis
        self._script: Any = client.register_script(SCRIPT) if client is not None else None

    def check(
        self, token_id: str | None, limit: str | None, key: str | None, ip: str | None = None
    ) -> None:
        """Ask the questions; any may be absent (a public route, a route without limit, a
        request that is part of another one, or no `ip_ceiling` configured)."""
        ceiling = CEILING if ip and CEILING in self.limits.names else None
        if self._script is None:
            self._one_by_one(token_id, [(limit, key), (ceiling, ip)])
            return
        counter, window = self.limits.counter(limit, key) if limit and key else (NONE, 0)
        ip_counter, ip_window = self.limits.counter(CEILING, ip) if ceiling and ip else (NONE, 0)
        token_key = self.denylist.key(token_id) if token_id else NONE
        try:
            revoked, count, ttl, ip_count, ip_ttl = self._script(
                keys=[token_key, counter, ip_counter],
                args=[int(token_key != NONE), window, ip_window],
            )
        except Exception as exc:  # as each check alone: the token's short life bounds it
            self.limits.storage_failed(exc)
            return
        if revoked:
            raise unauthenticated("The token was revoked; log in again.")
        if limit and window and count > self.limits.allowance(limit):
            self.limits.refuse(limit, int(ttl))
        if ceiling and ip_window and ip_count > self.limits.allowance(ceiling):
            self.limits.refuse(ceiling, int(ip_ttl))

    def _one_by_one(
        self, token_id: str | None, counted: list[tuple[str | None, str | None]]
    ) -> None:
        if token_id is not None and self.denylist.is_revoked(token_id):
            raise unauthenticated("The token was revoked; log in again.")
        for limit, key in counted:
            if limit and key:
                self.limits.hit(limit, key)
