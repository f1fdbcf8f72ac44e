"""The denylist of access tokens revoked before their expiry (logout), by token id (`jti`).

It lives beside the rate-limit counters: Redis shared by every worker and replica, or, where
Redis is absent, this worker's memory. An entry lives only as long as its token would have.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from limits.storage import RedisStorage, Storage

log = logging.getLogger(__name__)


class Denylist:
    """Revoked access-token ids until their expiry."""

    def __init__(self, storage: Storage) -> None:
        self._redis: Any = storage.storage if isinstance(storage, RedisStorage) else None
        self._prefix = f"{getattr(storage, 'key_prefix', 'tuyensinh')}:revoked:"
        self._memory: dict[str, float] = {}
        self._lock = threading.Lock()

    def key(self, token_id: str) -> str:
        """The Redis key that marks `token_id` revoked."""
        return self._prefix + token_id

    def revoke(self, token_id: str, expires_at: int) -> None:
        """Refuse the token from now until `expires_at` (Unix seconds)."""
        ttl = max(1, int(expires_at - time.time()) + 5)
        if self._redis is not None:
            try:
                self._redis.set(self.key(token_id), "1", ex=ttl)
            except Exception as exc:  # the token still dies at its expiry, minutes from now
                log.warning("access token not denylisted (%s)", type(exc).__name__)
            return
        with self._lock:
            self._memory[token_id] = time.time() + ttl

    def is_revoked(self, token_id: str) -> bool:
        """Whether the token was revoked; if Redis fails, the token's short life is the bound."""
        if self._redis is not None:
            try:
                return bool(self._redis.exists(self.key(token_id)))
            except Exception:
                return False
        with self._lock:
            now = time.time()
            for expired in [key for key, until in self._memory.items() if until < now]:
                del self._memory[expired]
            return token_id in self._memory
