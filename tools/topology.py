"""The whole broker topology, derived from every service's handlers; declared before deploying.

    python -m tools.topology                 declare it (each service's part with its config)
    python -m tools.topology --list          each work queue, its handler and its bindings

Each service declares its own queues as it starts (`shared.messaging.handlers`). This step,
run before any process starts (`make run`, the test system, docker-compose's `topology`
service), declares them all at once, so a queue exists before the first message that
belongs in it is published, whichever process starts first. It is the one place that knows
every service: the services do not import one another, and the gateway imports none.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from kombu import Queue
from nameko.utils import import_from_path

from shared import topology
from shared.config import load_config
from shared.db.migrate import service_config_path
from shared.messaging.bus import declare_queues, retry_delays
from shared.messaging.handlers import HandlerSpec, handler_specs

# Every nameko service of the deployment (module.Class), as the Procfile runs them.
SERVICES = (
    "services.registration.service.RegistrationService",
    "services.allocation.service.AllocationService",
    "services.notification.service.NotificationService",
    "services.estimator.service.EstimatorService",
)


@dataclass(frozen=True)
class Handler:
    """One message handler of one service, and what it consumes."""

    service: str
    method: str
    spec: HandlerSpec

    @property
    def queue_name(self) -> str:
        """Its work queue's name."""
        return self.spec.queue_name(self.service)

    def queue(self, settings: topology.QueueSettings = topology.CLASSIC_QUEUES) -> Queue:
        """Its work queue, with its bindings."""
        return self.spec.queue(self.service, settings)


def service_names() -> list[str]:
    """The `name` of each service."""
    return [import_from_path(path).name for path in SERVICES]


def handlers(services: Sequence[str] = SERVICES) -> list[Handler]:
    """Every message handler of the `services` (module.Class paths)."""
    found = []
    for path in services:
        service_cls = import_from_path(path)
        for method, spec in sorted(handler_specs(service_cls).items()):
            found.append(Handler(service_cls.name, method, spec))
    return found


def work_queues(settings: topology.QueueSettings = topology.CLASSIC_QUEUES) -> list[Queue]:
    """Every queue a handler consumes from."""
    return [handler.queue(settings) for handler in handlers()]


def all_queues(
    retry_delays_ms: Sequence[int], settings: topology.QueueSettings = topology.CLASSIC_QUEUES
) -> list[Queue]:
    """The work queues, their dead-letter queues and the retry delay queues."""
    return topology.with_dead_letters_and_delays(work_queues(settings), retry_delays_ms, settings)


def declare_all(
    amqp_uri: str,
    retry_delays_ms: Sequence[int],
    settings: topology.QueueSettings = topology.CLASSIC_QUEUES,
) -> None:
    """Declare every handler's queue on one broker with the same settings (tests, benches)."""
    declare_queues(amqp_uri, work_queues(settings), retry_delays_ms, settings)


def declare(amqp_uri: str | None = None) -> list[str]:
    """Declare each service's queues with that service's config (`amqp_uri`, if given,
    instead of the config's); the names of the work queues declared."""
    declared = []
    for path in SERVICES:
        service = import_from_path(path).name
        config = load_config(service_config_path(service))
        settings = topology.queue_settings(config)
        work = [h.queue(settings) for h in handlers([path])]
        declare_queues(amqp_uri or config["AMQP_URI"], work, retry_delays(config), settings)
        declared += [queue.name for queue in work]
    return declared


def main(argv: list[str] | None = None) -> int:
    """Declare the topology, or list it."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--list", action="store_true", help="list the work queues, declare none")
    parser.add_argument("--amqp-uri", default=None, help="instead of each service's AMQP_URI")
    args = parser.parse_args(argv)
    if args.list:
        for handler in handlers():
            keys = ", ".join(
                f"{b.exchange}:{b.routing_key}" for b in handler.spec.bindings(handler.service)
            )
            print(f"{handler.queue_name}  {handler.service}.{handler.method}  {keys}")
        return 0
    declared = declare(args.amqp_uri)
    print(f"declared {len(declared)} work queues, their dead-letter queues and the delay queues")
    return 0


if __name__ == "__main__":
    sys.exit(main())
