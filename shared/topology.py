"""The broker's vocabulary: exchanges, queue names, queue arguments, and how to declare them.

There is no table of who consumes what here. Each handler declares its own queue and
bindings (`shared.messaging.handlers`), so the topology is derived from the handlers and
cannot drift from them:

- a consuming service declares, as its container starts, the exchanges, its own work queues
  with their bindings and dead-letter queues, and the retry delay queues;
- a sender declares the queue of a command (`<service>.<command>`, bound under that name)
  before it sends one, if the broker had no route for it;
- a deploy step, `python -m tools.topology`, declares the whole derived topology from every
  service class (`tools.topology.SERVICES`) before any process starts (`make run`, the test
  system, docker-compose's `topology` service), so an event published before its consumer
  first started is still kept for it.

Every queue's arguments come from one place, `queue_arguments`, by the queue's role and the
deployment's `QueueSettings` (`QUEUE_TYPE` in the config files): classic queues on a single
node, quorum queues (replicated on a majority of a cluster's nodes) on a cluster. A queue's
type cannot change in place: `python -m tools.migrate_queues` moves an existing broker.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from kombu import Connection, Exchange, Queue, binding

EVENTS = Exchange("tuyensinh.events", type="topic", durable=True)
COMMANDS = Exchange("tuyensinh.commands", type="direct", durable=True)
DEAD_LETTERS = Exchange("tuyensinh.dead", type="direct", durable=True)
EXCHANGES = {exchange.name: exchange for exchange in (EVENTS, COMMANDS, DEAD_LETTERS)}

CLASSIC, QUORUM = "classic", "quorum"
DEFAULT_DELIVERY_LIMIT = 20
Role = Literal["work", "dead", "delay", "rpc"]


@dataclass(frozen=True)
class QueueSettings:
    """How this deployment's durable queues are declared (the same in every process).

    `delivery_limit` (quorum only) is a safety net below the retry schedule, not part of it:
    a message handed out that many times without being settled (its consumer kept dying on
    it) goes to `<queue>.dead` too. Our own retries republish, so they never count here.
    """

    queue_type: str = CLASSIC
    delivery_limit: int = DEFAULT_DELIVERY_LIMIT

    def __post_init__(self) -> None:
        if self.queue_type not in (CLASSIC, QUORUM):
            raise ValueError(f"QUEUE_TYPE must be classic or quorum, not {self.queue_type!r}")


CLASSIC_QUEUES = QueueSettings()


def queue_settings(config: Mapping[str, Any]) -> QueueSettings:
    """The settings a process's config asks for (`QUEUE_TYPE`, `QUEUE_DELIVERY_LIMIT`)."""
    return QueueSettings(
        queue_type=str(config.get("QUEUE_TYPE") or CLASSIC).strip().lower(),
        delivery_limit=int(config.get("QUEUE_DELIVERY_LIMIT") or DEFAULT_DELIVERY_LIMIT),
    )


def queue_arguments(
    role: Role, settings: QueueSettings, *, name: str = "", ttl_ms: int = 0
) -> dict[str, Any]:
    """The one place queue arguments are decided.

    Classic: exactly the arguments single-node brokers have always had (so they declare
    without a 406). Quorum: replicated queues; dead-lettering (delay queues' expiry, the
    delivery limit) is at-least-once, which RabbitMQ allows only with `reject-publish`.
    """
    arguments: dict[str, Any] = {}
    if role == "delay":
        arguments.update({"x-message-ttl": ttl_ms, "x-dead-letter-exchange": ""})
    if settings.queue_type == CLASSIC:
        return arguments
    arguments["x-queue-type"] = QUORUM
    if role == "work":
        arguments.update(
            {
                "x-delivery-limit": settings.delivery_limit,
                "x-dead-letter-exchange": DEAD_LETTERS.name,
                "x-dead-letter-routing-key": name,
            }
        )
    if "x-dead-letter-exchange" in arguments:
        arguments.update(
            {"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}
        )
    return arguments


@dataclass(frozen=True, order=True)
class Binding:
    """One binding of a work queue: an exchange's name and the routing key bound under it."""

    exchange: str
    routing_key: str


def event_routing_key(source: str, event_type: str) -> str:
    """Routing key of an event on the events exchange: `<source>.<event_type>`."""
    return f"{source}.{event_type}"


def event_binding(source: str, event_type: str) -> Binding:
    """The binding that brings `source`'s `event_type` events into a queue."""
    return Binding(EVENTS.name, event_routing_key(source, event_type))


def command_queue_name(service: str, command: str) -> str:
    """By convention the queue of a command is `<service>.<command>`, its routing key too."""
    return f"{service}.{command}"


def work_queue(
    name: str, bindings: Iterable[Binding], settings: QueueSettings = CLASSIC_QUEUES
) -> Queue:
    """The durable queue a handler consumes from, with its bindings."""
    return Queue(
        name,
        bindings=[binding(EXCHANGES[b.exchange], routing_key=b.routing_key) for b in bindings],
        durable=True,
        queue_arguments=queue_arguments("work", settings, name=name),
    )


def command_queue(service: str, command: str, settings: QueueSettings = CLASSIC_QUEUES) -> Queue:
    """A command's queue as a sender sees it (the consumer may bind events to it as well)."""
    name = command_queue_name(service, command)
    return work_queue(name, [Binding(COMMANDS.name, name)], settings)


def dead_letter_queue(queue_name: str, settings: QueueSettings = CLASSIC_QUEUES) -> Queue:
    """Where a message that kept failing in `queue_name` waits for an operator."""
    return Queue(
        f"{queue_name}.dead",
        exchange=DEAD_LETTERS,
        routing_key=queue_name,
        durable=True,
        queue_arguments=queue_arguments("dead", settings),
    )


def delay_exchange(delay_ms: int) -> Exchange:
    """A fanout exchange feeding the delay queue of that length."""
    return Exchange(f"tuyensinh.delay.{delay_ms}ms", type="fanout", durable=True)


def delay_queue(delay_ms: int, settings: QueueSettings = CLASSIC_QUEUES) -> Queue:
    """A consumer-less queue: messages wait `delay_ms`, then return to the queue they name.

    Expired messages are dead-lettered to the default exchange under the routing key they
    were published with, which is the name of the queue they came from.
    """
    return Queue(
        f"tuyensinh.delay.{delay_ms}ms",
        exchange=delay_exchange(delay_ms),
        durable=True,
        queue_arguments=queue_arguments("delay", settings, ttl_ms=delay_ms),
    )


def rpc_queue(service: str, exchange: Exchange, settings: QueueSettings = CLASSIC_QUEUES) -> Queue:
    """nameko's `rpc-<service>` request queue (durable), as nameko declares it, but quorum
    on a cluster: a classic queue is down with its one node, and RPC to the service with it.
    Reply queues (one per caller, expiring) stay nameko's own classic ones."""
    arguments = queue_arguments("rpc", settings)
    return Queue(
        f"rpc-{service}",
        exchange=exchange,
        routing_key=f"{service}.*",
        durable=True,
        queue_arguments=arguments or None,
    )


def declare(
    connection: Connection,
    work: Iterable[Queue],
    retry_delays_ms: Iterable[int],
    settings: QueueSettings = CLASSIC_QUEUES,
) -> None:
    """Declare the exchanges, the `work` queues with their dead-letter queues, and the delay
    queues; idempotent, so every process may call it with the queues it knows."""
    channel = connection.default_channel
    for exchange in EXCHANGES.values():
        exchange(channel).declare()
    for queue in with_dead_letters_and_delays(work, retry_delays_ms, settings):
        queue(channel).declare()


def with_dead_letters_and_delays(
    work: Iterable[Queue], retry_delays_ms: Iterable[int], settings: QueueSettings = CLASSIC_QUEUES
) -> list[Queue]:
    """The work queues, their dead-letter queues and the retry delay queues."""
    work = list(work)
    dead = [dead_letter_queue(queue.name, settings) for queue in work]
    delays = [delay_queue(delay, settings) for delay in sorted(set(retry_delays_ms))]
    return work + dead + delays
