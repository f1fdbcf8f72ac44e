"""Move an existing broker's queues to another type (classic -> quorum, or back), losing nothing.

A queue's type is fixed when it is declared: declaring it again as quorum fails with
406 PRECONDITION_FAILED. So each queue of the topology (`tools.topology`: the handlers'
queues, their dead-letter queues, the delay queues, and nameko's `rpc-<service>` queues)
that has the wrong type is moved in four steps, every message confirmed before the copy it
replaces is acked:

1. its messages go to a holding queue `<queue>.migrating` (classic, durable);
2. the queue is deleted (only if empty: anything that arrived meanwhile stops the script);
3. it is declared again, with the new type and its bindings;
4. the messages go back from the holding queue, which is then deleted.

A crash at any point loses nothing: run the script again, it finishes the move (a message
copied but not yet acked when it stopped is there twice; the consumers drop the copy, as
they drop every redelivery, by event id). Stop the services and the gateways first (their
next start declares the queues with the new `QUEUE_TYPE`), then:

    python -m tools.migrate_queues --amqp-uri pyamqp://guest:guest@127.0.0.1:5672/ --to quorum
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from amqp.exceptions import NotFound, PreconditionFailed
from kombu import Connection, Exchange, Queue
from nameko.amqp.publish import Publisher

from shared import topology
from shared.messaging.bus import DEFAULT_RETRY_DELAYS_MS
from tools.topology import all_queues, service_names

HOLDING_SUFFIX = ".migrating"
ROUTING_KEY_HEADER = "x-tuyensinh-migrated-routing-key"
RPC_EXCHANGE = Exchange("nameko-rpc", type="topic", durable=True)  # nameko's default


def queues(settings: topology.QueueSettings, delays: list[int]) -> list[Queue]:
    """Every durable queue of the deployment, declared as `settings` says."""
    rpc = [topology.rpc_queue(name, RPC_EXCHANGE, settings) for name in service_names()]
    return all_queues(delays, settings) + rpc


def migrate(amqp_uri: str, settings: topology.QueueSettings, delays: list[int]) -> dict[str, int]:
    """Give every queue the type `settings` names; messages moved per queue that changed."""
    moved: dict[str, int] = {}
    with Connection(amqp_uri, connect_timeout=10) as connection:
        connection.ensure_connection(max_retries=3)
        for exchange in (topology.EVENTS, topology.COMMANDS, topology.DEAD_LETTERS, RPC_EXCHANGE):
            exchange(connection.default_channel).declare()
        publisher = Publisher(amqp_uri, use_confirms=True, mandatory=True)
        for queue in queues(settings, delays):
            count = _migrate_one(connection, publisher, queue)
            if count is not None:
                moved[queue.name] = count
    return moved


def _migrate_one(connection: Connection, publisher: Publisher, queue: Queue) -> int | None:
    holding = Queue(queue.name + HOLDING_SUFFIX, durable=True)
    if _declares(connection, queue) and not _exists(connection, holding.name):
        return None  # already of that type (or new), and no earlier move left unfinished
    with _channel(connection) as channel:
        holding(channel).declare()
    moved = 0
    if not _declares(connection, queue):
        moved = _move(connection, publisher, queue.name, holding.name, keep_key=True)
        with _channel(connection) as channel:
            channel.queue_delete(queue.name, if_empty=True)
        with _channel(connection) as channel:
            queue(channel).declare()
    _move(connection, publisher, holding.name, queue.name, keep_key=False)
    with _channel(connection) as channel:
        channel.queue_delete(holding.name, if_empty=True)
    return moved


def _move(
    connection: Connection, publisher: Publisher, source: str, target: str, keep_key: bool
) -> int:
    """Move every message of `source` to `target`: confirmed publish first, then the ack.

    Into the holding queue a message keeps the routing key it came with in a header; out of
    it, a delay queue's message is published to the delay exchange under that key again
    (its expiry returns it to the work queue the key names)."""
    moved = 0
    with _channel(connection) as channel:
        while (raw := channel.basic_get(source, no_ack=False)) is not None:
            message = channel.message_to_python(raw)
            headers = dict(message.headers or {})
            if keep_key:
                headers[ROUTING_KEY_HEADER] = message.delivery_info.get("routing_key", "")
                exchange, key = "", target
            else:
                original = str(headers.pop(ROUTING_KEY_HEADER, "") or target)
                delay = target.startswith("tuyensinh.delay.")
                exchange, key = (target, original) if delay else ("", target)
            publisher.publish(
                message.body,
                exchange=Exchange(exchange),
                routing_key=key,
                content_type=message.content_type,
                content_encoding=message.content_encoding,
                headers=headers,
                **_properties(message.properties),
            )
            message.ack()
            moved += 1
    return moved


def _properties(properties: dict[str, Any]) -> dict[str, Any]:
    keep = ("message_id", "correlation_id", "reply_to", "expiration", "timestamp", "type")
    return {name: properties[name] for name in keep if properties.get(name) is not None}


def _declares(connection: Connection, queue: Queue) -> bool:
    """Whether `queue` declares as it is (False: it exists with another type, a 406)."""
    try:
        with _channel(connection) as channel:
            queue(channel).declare()
    except PreconditionFailed:
        return False
    return True


def _exists(connection: Connection, name: str) -> bool:
    try:
        with _channel(connection) as channel:
            channel.queue_declare(name, passive=True)
    except NotFound:
        return False
    return True


@contextmanager
def _channel(connection: Connection) -> Iterator[Any]:
    channel = connection.channel()
    try:
        yield channel
    finally:
        if channel.is_open:  # a refused declare closed it already
            channel.close()


def main(argv: list[str] | None = None) -> int:
    """Command line: see the module's docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--amqp-uri", required=True)
    parser.add_argument("--to", choices=(topology.CLASSIC, topology.QUORUM), required=True)
    parser.add_argument("--delivery-limit", type=int, default=topology.DEFAULT_DELIVERY_LIMIT)
    parser.add_argument(
        "--retry-delays-ms",
        default=",".join(str(d) for d in DEFAULT_RETRY_DELAYS_MS),
        help="the RETRY_DELAYS_MS of the deployment (its delay queues)",
    )
    args = parser.parse_args(argv)
    settings = topology.QueueSettings(args.to, args.delivery_limit)
    delays = [int(delay) for delay in args.retry_delays_ms.split(",")]
    moved = migrate(args.amqp_uri, settings, delays)
    for name, count in sorted(moved.items()):
        print(f"{name}: now {args.to}, {count} messages moved")
    print(f"{len(moved)} queues migrated; the others were {args.to} already")
    return 0


if __name__ == "__main__":
    sys.exit(main())
