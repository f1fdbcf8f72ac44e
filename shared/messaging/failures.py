"""Where a failed message goes next: retry with backoff, then the dead-letter queue.

nameko 2.14 acks a message whose handler raised, so the work would vanish. Our handlers
(`shared.messaging.handlers`) instead republish a failed message (confirmed) to a delay
queue, and after the last retry to the queue's dead-letter queue, and only then ack it.

A handler that failed because its database was unreachable does not spend that budget: the
message is good, only the server is away (a restart, a failover). It is retried on the same
schedule, then every longest delay, until the database is back, up to `DB_OUTAGE_RETRIES`
times (default 120: about an hour at 30 s); past that cap it goes on to the ordinary budget
and, if the database is still away, to the dead-letter queue for an operator.
"""

from __future__ import annotations

from kombu.message import Message as KombuMessage
from nameko.extensions import SharedExtension

from shared import topology
from shared.contracts.envelope import PoisonMessage
from shared.db.errors import database_unavailable
from shared.messaging.bus import ATTEMPT_HEADER, OUTAGE_HEADER, MessageBus, retry_delays
from shared.metrics.series import MESSAGES_DEAD_LETTERED, MESSAGES_RETRIED

DEFAULT_OUTAGE_RETRIES = 120


class FailureRouter(SharedExtension):
    """Decides where a failed message goes next: a delay queue, or the dead-letter queue."""

    def setup(self) -> None:
        config = self.container.config
        self.delays = retry_delays(config)
        self.outage_retries = int(config.get("DB_OUTAGE_RETRIES", DEFAULT_OUTAGE_RETRIES))
        self.bus = MessageBus(config["AMQP_URI"])

    def route(self, queue_name: str, message: KombuMessage, exc: BaseException) -> str:
        """Republish `message` for its next attempt or for an operator; returns where it went."""
        headers = message.headers or {}
        outages = int(headers.get(OUTAGE_HEADER, 0))
        if self.delays and outages < self.outage_retries and database_unavailable(exc):
            # Not an attempt: the attempt count stays, so the budget is whole afterwards.
            delay = self.delays[min(outages, len(self.delays) - 1)]
            self.bus.forward(
                message,
                exchange=topology.delay_exchange(delay),
                routing_key=queue_name,
                headers={OUTAGE_HEADER: outages + 1},
            )
            MESSAGES_RETRIED.labels(queue_name, "database_outage").inc()
            return f"database unavailable, retry in {delay} ms ({outages + 1} so far)"
        attempt = int(headers.get(ATTEMPT_HEADER, 0)) + 1
        retryable = not isinstance(exc, PoisonMessage)
        if retryable and attempt <= len(self.delays):
            delay = self.delays[attempt - 1]
            self.bus.forward(
                message,
                exchange=topology.delay_exchange(delay),
                routing_key=queue_name,
                headers={ATTEMPT_HEADER: attempt},
            )
            MESSAGES_RETRIED.labels(queue_name, "failure").inc()
            return f"retry {attempt} in {delay} ms"
        self.bus.forward(
            message,
            exchange=topology.DEAD_LETTERS,
            routing_key=queue_name,
            headers={
                ATTEMPT_HEADER: attempt,
                "x-tuyensinh-failure": f"{type(exc).__module__}.{type(exc).__qualname__}",
                # Only our own poison reasons are known to be free of personal data.
                "x-tuyensinh-detail": str(exc)[:300] if not retryable else "",
            },
        )
        MESSAGES_DEAD_LETTERED.labels(queue_name).inc()
        return "dead-lettered"
