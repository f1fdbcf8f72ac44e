"""nameko's RPC entrypoint and proxy, made to survive a broker (or a cluster node) going away.

The request queue `rpc-<service>` comes from `shared.topology` (quorum on a cluster); the
reply queues are transient; a call gives up after `RPC_TIMEOUT_SECONDS`.
"""

from __future__ import annotations

import logging
from typing import Any

import eventlet
from kombu import Queue
from nameko.messaging import QueueConsumer
from nameko.rpc import ReplyListener, Rpc, RpcConsumer, RpcProxy, get_rpc_exchange

from shared import topology
from shared.messaging.bus import CONNECTION_LOST

log = logging.getLogger(__name__)
DEFAULT_RPC_TIMEOUT = 30.0


class _ResilientRpcConsumer(RpcConsumer):
    """nameko's RPC consumer, except that a reply it cannot publish (the broker is gone)
    does not kill the service: nameko 2.14 lets that error end the worker thread, and the
    container treats any such thread's error as fatal. The request stays unacknowledged on
    the dead connection, so the broker redelivers it once it is back; the caller, who may
    already have timed out, retries or reports the failure as it would for any timeout.

    Its `rpc-<service>` queue is declared by `shared.topology` (quorum on a cluster)."""

    queue: Any  # nameko's: None until setup

    def setup(self) -> None:
        # nameko's own setup, with the queue from shared.topology instead of its classic one
        if self.queue is None:
            config = self.container.config
            exchange = get_rpc_exchange(config)
            service = self.container.service_name
            self.queue = topology.rpc_queue(service, exchange, topology.queue_settings(config))
            self.queue_consumer.register_provider(self)
            self._registered = True

    def handle_result(self, message: Any, result: Any, exc_info: Any) -> Any:
        try:
            return super().handle_result(message, result, exc_info)
        except CONNECTION_LOST as exc:
            log.warning("could not reply to an RPC call (broker unreachable): %r", exc)
            return result, exc_info


class ResilientRpc(Rpc):
    """`@rpc` that survives the broker going away while a reply is on its way."""

    rpc_consumer = _ResilientRpcConsumer()


rpc = ResilientRpc.decorator


class _SettleSafeQueueConsumer(QueueConsumer):
    """nameko's queue consumer, except that an ack the broker can no longer take (its
    connection just died) is logged instead of raised: the message is redelivered anyway."""

    def ack_message(self, message: Any) -> None:
        try:
            super().ack_message(message)
        except CONNECTION_LOST as exc:
            log.warning("could not ack an RPC reply (connection lost): %r", exc)


class _ResilientReplyListener(ReplyListener):
    queue: Any  # nameko's, set in setup

    # nameko acks each reply before handing it over; an ack into a connection the broker has
    # just dropped raised in the listener's thread, which ends the whole service.
    queue_consumer = _SettleSafeQueueConsumer()

    def setup(self) -> None:
        super().setup()
        # nameko declares its reply queue durable: on a cluster it then lives on one node,
        # and while that node is down it cannot be declared again anywhere (404 "home node
        # ... is down"), so the service's consumer cannot reconnect. A transient queue goes
        # with its node and is declared afresh on a live one.
        queue = self.queue
        self.queue = Queue(
            queue.name,
            exchange=queue.exchange,
            routing_key=queue.routing_key,
            durable=False,
            queue_arguments=queue.queue_arguments,
        )


class RpcTimeout(Exception):
    """A service did not answer an RPC in time (its reply may have gone with a broker node)."""


class _TimedMethod:
    """One method of a remote service: calling it waits at most `timeout` seconds;
    `call_async` is nameko's own (for callers that wait their own way)."""

    def __init__(self, method: Any, name: str, timeout: float) -> None:
        self.call_async, self._name, self._timeout = method.call_async, name, timeout

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        reply = self.call_async(*args, **kwargs)
        with eventlet.Timeout(self._timeout, RpcTimeout(f"{self._name}: no reply in time")):
            return reply.result()


class _TimedServiceProxy:
    """nameko's service proxy, except that a call waits at most `timeout` seconds: a reply
    lost with a broker node would otherwise hold the worker (and its unacked messages)
    forever. The caller's message then fails and is retried like any failure."""

    def __init__(self, proxy: Any, timeout: float) -> None:
        self._proxy, self._timeout = proxy, timeout

    def __getattr__(self, name: str) -> _TimedMethod:
        return _TimedMethod(getattr(self._proxy, name), name, self._timeout)


class ResilientRpcProxy(RpcProxy):
    """`RpcProxy` that survives the broker going away while a reply comes in, and gives up
    on a call after `RPC_TIMEOUT_SECONDS` (default 30)."""

    rpc_reply_listener = _ResilientReplyListener()

    def get_dependency(self, worker_ctx: Any) -> Any:
        timeout = float(self.container.config.get("RPC_TIMEOUT_SECONDS", DEFAULT_RPC_TIMEOUT))
        return _TimedServiceProxy(super().get_dependency(worker_ctx), timeout)
