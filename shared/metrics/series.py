"""The series every service exports (prometheus_client's default registry, one per process).

Labels hold only names from the code (entrypoints, queues, event types, reason codes), never
a reference, an address or anything a parent typed: a label value is a series, kept forever.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0)

HANDLER_DURATION = Histogram(
    "tuyensinh_handler_duration_seconds",
    "Time a worker took, by entrypoint (a batch handler's time is the whole batch's).",
    ["entrypoint"],
    buckets=LATENCY_BUCKETS,
)
HANDLER_FAILURES = Counter(
    "tuyensinh_handler_failures",
    "Workers that raised, by entrypoint and exception class.",
    ["entrypoint", "error"],
)
MESSAGES_RETRIED = Counter(
    "tuyensinh_messages_retried",
    "Failed messages sent round a delay queue, by work queue and why "
    "(failure: an attempt spent; database_outage: none spent).",
    ["queue", "reason"],
)
MESSAGES_DEAD_LETTERED = Counter(
    "tuyensinh_messages_dead_lettered",
    "Messages parked in a dead-letter queue by this process, by work queue.",
    ["queue"],
)
EVENTS_COMMITTED = Counter(
    "tuyensinh_events_committed",
    "Events committed to the outbox (state changes), by source service and event type.",
    ["source", "type"],
)
OUTBOX_ROWS = Gauge(
    "tuyensinh_outbox_rows",
    "Events waiting in this service's outbox, as last polled.",
)
OUTBOX_OLDEST_AGE = Gauge(
    "tuyensinh_outbox_oldest_age_seconds",
    "Age of the oldest event waiting in this service's outbox (0 when empty), as last polled.",
)
QUEUE_MESSAGES = Gauge(
    "tuyensinh_queue_messages",
    "Messages ready in a work queue, by queue and the service that consumes it, as last polled.",
    ["queue", "consumer_service"],
)
QUEUE_CONSUMERS = Gauge(
    "tuyensinh_queue_consumers",
    "Consumers attached to a work queue, as last polled.",
    ["queue", "consumer_service"],
)
DEAD_LETTER_MESSAGES = Gauge(
    "tuyensinh_dead_letter_messages",
    "Messages parked in a work queue's dead-letter queue, as last polled.",
    ["queue", "consumer_service"],
)
POLL_FAILURES = Counter(
    "tuyensinh_metrics_poll_failures",
    "Polls of the broker or the database for the gauges above that failed, by target.",
    ["target"],
)
