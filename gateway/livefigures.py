"""Calls for the live figures of open rounds (demand, chances) that give up quickly and
remember a failure for a while.

Those figures decorate public pages (the catchment lookup, the finder, the register form):
a page is still useful without them, never worth a wait. So their RPCs have a timeout of
their own (LIVE_FIGURES_TIMEOUT_SECONDS, a couple of seconds instead of RPC_TIMEOUT_SECONDS)
on a small pool of their own, and after a failure none is tried again for
LIVE_FIGURES_PAUSE_SECONDS: a burst of page views then fails at once to "no figures"
instead of queueing behind calls that would time out one after another.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from nameko.exceptions import RemoteError

from gateway.rpc import RpcPool

log = logging.getLogger(__name__)


class FiguresUnavailable(Exception):
    """The live figures did not come in time, or failed lately: answer without them."""


class FailFast:
    """RPCs with a short timeout that, after a failure, fail at once for `pause` seconds."""

    def __init__(
        self,
        pool: RpcPool,
        pause: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pool, self._pause, self._clock = pool, pause, clock
        self._failed_at = float("-inf")
        self._lock = threading.Lock()

    def call(self, service: str, method: str, *args: Any) -> Any:
        """`service.method(*args)`, or FiguresUnavailable (at once while paused)."""
        with self._lock:
            if self._clock() - self._failed_at < self._pause:
                raise FiguresUnavailable(f"{service}.{method} failed lately")
        try:
            with self._pool.cluster() as rpc:
                return getattr(rpc[service], method)(*args)
        except RemoteError:
            raise  # the service answered (an expected error): nothing to remember
        except Exception as exc:
            with self._lock:
                self._failed_at = self._clock()
            log.warning(
                "%s.%s unavailable (%s): no live figures for %ss",
                service,
                method,
                type(exc).__name__,
                self._pause,
            )
            raise FiguresUnavailable(f"{service}.{method}: {type(exc).__name__}") from exc

    def close(self) -> None:
        """Stop the pool's proxies (on worker exit)."""
        self._pool.close()
