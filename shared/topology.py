"""The broker topology, declared once here and by every process at start.

Every process declares all of it, idempotently, so a queue exists before the first message
that belongs in it is published, whichever process happens to start first.

Every queue's arguments come from one place, `queue_arguments`, by the queue's role and the
deployment's `QueueSettings` (`QUEUE_TYPE` in the config files): classic queues on a single
node, quorum queues (replicated on a majority of a cluster's nodes) on a cluster. A queue's
type cannot change in place: `python -m tools.migrate_queues` moves an existing broker.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from kombu import Connection, Exchange, Queue, binding

EVENTS = Exchange("tuyensinh.events", type="topic", durable=True)
COMMANDS = Exchange("tuyensinh.commands", type="direct", durable=True)
DEAD_LETTERS = Exchange("tuyensinh.dead", type="direct", durable=True)

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


# (consuming service, command) pairs: work sent to exactly one service.
COMMAND_ROUTES: tuple[tuple[str, str], ...] = (
    ("registration", "submit_application"),
    ("registration", "withdraw_application"),
    ("registration", "request_erasure"),
)

# Events that also travel in a command's queue, so that the consumer sees them in order with
# the commands: registration learns a round's close instant (scheduled, then reached) in the
# same queue as the submissions, so none published after the close was scheduled is judged
# before registration knows the instant (say, from a replica that missed the close).
COMMAND_EVENTS: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("registration", "submit_application"): (
        ("allocation", "round_window_changed"),
        ("allocation", "round_closed"),
    ),
}

# (consuming service, source service, event type): who listens to what.
SUBSCRIPTIONS: tuple[tuple[str, str, str], ...] = (
    ("registration", "allocation", "round_opened"),
    ("registration", "allocation", "round_window_changed"),
    ("registration", "allocation", "round_closed"),
    ("registration", "allocation", "school_directory_updated"),
    # A practice round wiped: registration and notification delete what they hold of it.
    ("registration", "allocation", "round_discarded"),
    ("notification", "allocation", "round_discarded"),
    ("notification", "registration", "application_received"),
    # Notification: one queue per event, so a burst of one kind never starves another.
    ("notification", "registration", "application_verified"),
    ("notification", "registration", "application_rejected"),
    ("notification", "registration", "application_withdrawn"),
    # Anything refused after the gateway said "received": the family must be told.
    ("notification", "registration", "application_refused"),
    # A correction request: received, then approved (checked again) or refused with a reason.
    ("notification", "registration", "correction_requested"),
    ("notification", "registration", "correction_decided"),
    ("notification", "allocation", "seat_offered"),
    ("notification", "allocation", "application_waitlisted"),
    ("notification", "allocation", "application_unplaced"),
    ("notification", "allocation", "offer_expiring"),
    ("notification", "allocation", "offer_accepted"),
    ("notification", "allocation", "offer_declined"),
    ("notification", "allocation", "offer_expired"),
    ("notification", "allocation", "enrollment_confirmed"),
    ("notification", "allocation", "school_rejected"),
    # Erasure: the child's personal data goes from notification's inbox and ledger too.
    ("notification", "registration", "application_erased"),
    # Allocation runs its long allocate and publish jobs off the RPC that asked for them.
    ("allocation", "allocation", "round_job_requested"),
)


# (consuming service, group): one queue for several events that one handler treats alike.
EVENT_GROUPS: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    # Registration shows parents the status allocation's events give their application.
    ("registration", "outcomes"): tuple(
        ("allocation", event_type)
        for event_type in (
            "seat_offered",
            "application_waitlisted",
            "application_unplaced",
            "offer_accepted",
            "offer_declined",
            "offer_expired",
            "enrollment_confirmed",
            "school_rejected",
        )
    ),
    # Allocation keeps its own copy of the verified applications, in one ordered queue.
    ("allocation", "applications"): tuple(
        ("registration", event_type)
        for event_type in (
            "application_verified",
            "application_rejected",
            "application_withdrawn",
            "application_erased",
        )
    ),
}


def event_routing_key(source: str, event_type: str) -> str:
    """Routing key of an event on the events exchange: `<source>.<event_type>`."""
    return f"{source}.{event_type}"


def command_queue(service: str, command: str, settings: QueueSettings = CLASSIC_QUEUES) -> Queue:
    """The durable queue a service takes one kind of command from."""
    _require((service, command) in COMMAND_ROUTES, f"no command route {service}.{command}")
    name = f"{service}.{command}"
    events = COMMAND_EVENTS.get((service, command), ())
    return Queue(
        name,
        bindings=[
            binding(COMMANDS, routing_key=name),
            *(binding(EVENTS, routing_key=event_routing_key(*event)) for event in events),
        ],
        durable=True,
        queue_arguments=queue_arguments("work", settings, name=name),
    )


def event_queue(
    service: str, source: str, event_type: str, settings: QueueSettings = CLASSIC_QUEUES
) -> Queue:
    """The durable queue one service's handler of one event type consumes from."""
    _require(
        (service, source, event_type) in SUBSCRIPTIONS,
        f"{service} is not subscribed to {source}.{event_type} in shared.topology",
    )
    name = f"{service}.on.{source}.{event_type}"
    return Queue(
        name,
        exchange=EVENTS,
        routing_key=event_routing_key(source, event_type),
        durable=True,
        queue_arguments=queue_arguments("work", settings, name=name),
    )


def group_queue(service: str, group: str, settings: QueueSettings = CLASSIC_QUEUES) -> Queue:
    """The durable queue bound to every event of one of `service`'s event groups."""
    _require((service, group) in EVENT_GROUPS, f"{service} has no event group {group}")
    keys = [event_routing_key(source, kind) for source, kind in EVENT_GROUPS[(service, group)]]
    name = f"{service}.on.{group}"
    return Queue(
        name,
        bindings=[binding(EVENTS, routing_key=key) for key in keys],
        durable=True,
        queue_arguments=queue_arguments("work", settings, name=name),
    )


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


def work_queues(settings: QueueSettings = CLASSIC_QUEUES) -> list[Queue]:
    """Every queue a handler consumes from."""
    commands = [command_queue(service, command, settings) for service, command in COMMAND_ROUTES]
    events = [event_queue(*subscription, settings) for subscription in SUBSCRIPTIONS]
    groups = [group_queue(service, group, settings) for service, group in EVENT_GROUPS]
    return commands + events + groups


def all_queues(
    retry_delays_ms: Iterable[int], settings: QueueSettings = CLASSIC_QUEUES
) -> list[Queue]:
    """The work queues, their dead-letter queues and the retry delay queues."""
    work = work_queues(settings)
    dead = [dead_letter_queue(queue.name, settings) for queue in work]
    delays = [delay_queue(delay, settings) for delay in sorted(set(retry_delays_ms))]
    return work + dead + delays


def declare(
    connection: Connection,
    retry_delays_ms: Sequence[int],
    settings: QueueSettings = CLASSIC_QUEUES,
) -> None:
    """Declare every exchange, queue and binding; safe to call from every process."""
    channel = connection.default_channel
    for exchange in (EVENTS, COMMANDS, DEAD_LETTERS):
        exchange(channel).declare()
    for queue in all_queues(retry_delays_ms, settings):
        queue(channel).declare()


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise LookupError(message)
