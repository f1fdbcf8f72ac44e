"""A pool of started nameko RPC proxies: each request borrows one, none is built per request."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcProxy


class RpcPool:
    """Hands each greenlet its own started `ClusterRpcProxy`, creating them lazily up to `size`.

    One proxy shared by greenlets fails under gevent; a new proxy per call is slow and leaves a
    reply queue behind. A proxy that failed mid-call is discarded, not returned to the pool.
    """

    def __init__(self, config: dict[str, Any], size: int, timeout: float) -> None:
        self._config = config
        self._timeout = timeout
        self._idle: queue.LifoQueue[Any] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)
        self._all: list[ClusterRpcProxy] = []

    @contextmanager
    def cluster(self) -> Iterator[Any]:
        """Borrow a started cluster proxy: `with pool.cluster() as rpc: rpc.registration.x()`."""
        with self._slots:
            try:
                owner, cluster = self._idle.get_nowait()
            except queue.Empty:
                owner = ClusterRpcProxy(self._config, timeout=self._timeout)
                cluster = owner.start()
                self._all.append(owner)
            try:
                yield cluster
            except RemoteError:
                self._idle.put((owner, cluster))  # the service answered; the proxy is fine
                raise
            except BaseException:
                self._discard(owner)
                raise
            self._idle.put((owner, cluster))

    def close(self) -> None:
        """Stop every proxy (on worker exit)."""
        for owner in list(self._all):
            self._discard(owner)

    def _discard(self, owner: ClusterRpcProxy) -> None:
        if owner in self._all:
            self._all.remove(owner)
        try:
            owner.stop()
        except Exception:  # a proxy on a dead connection cannot stop cleanly
            pass
