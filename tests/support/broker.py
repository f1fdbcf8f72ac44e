"""RabbitMQ helpers for tests: throwaway vhosts and reading queues, over the real broker."""

from __future__ import annotations

import json
import os
import time
import uuid
from typing import Any
from urllib.parse import quote

import requests
from kombu import Connection, Queue

from shared import topology

MANAGEMENT = os.environ.get("TEST_RABBIT_MANAGEMENT", "http://127.0.0.1:15672")
BROKER = os.environ.get("TEST_AMQP_BASE", "pyamqp://guest:guest@127.0.0.1:5672")
AUTH = ("guest", "guest")


def create_vhost() -> str:
    """A new vhost with full permissions for guest; returns its AMQP URI."""
    vhost = f"ts_test_{uuid.uuid4().hex[:10]}"
    requests.put(f"{MANAGEMENT}/api/vhosts/{vhost}", auth=AUTH, timeout=10).raise_for_status()
    permissions = {"configure": ".*", "write": ".*", "read": ".*"}
    requests.put(
        f"{MANAGEMENT}/api/permissions/{vhost}/guest", json=permissions, auth=AUTH, timeout=10
    ).raise_for_status()
    return f"{BROKER}/{vhost}"


def delete_vhost(amqp_uri: str) -> None:
    """Remove a test vhost and everything in it."""
    vhost = amqp_uri.rsplit("/", 1)[1]
    requests.delete(f"{MANAGEMENT}/api/vhosts/{quote(vhost, safe='')}", auth=AUTH, timeout=10)


def tap(amqp_uri: str, source: str, event_type: str) -> Queue:
    """Bind a fresh durable queue to one event type, to watch what a service announces."""
    queue = Queue(
        f"test.tap.{source}.{event_type}.{uuid.uuid4().hex[:6]}",
        exchange=topology.EVENTS,
        routing_key=topology.event_routing_key(source, event_type),
        durable=True,
    )
    with Connection(amqp_uri) as connection:
        queue(connection.default_channel).declare()
    return queue


def drain(amqp_uri: str, queue_name: str, *, expect: int, timeout: float = 10.0) -> list[Any]:
    """Take messages from a queue until `expect` arrived or `timeout` passed; returns bodies
    with their headers as `(body, headers)` pairs."""
    received: list[Any] = []
    deadline = time.monotonic() + timeout
    with Connection(amqp_uri) as connection:
        channel = connection.default_channel
        while time.monotonic() < deadline and len(received) < expect:
            message = channel.basic_get(queue_name, no_ack=True)
            if message is None:
                time.sleep(0.05)
                continue
            received.append((json.loads(message.body), message.headers or {}))
    return received


def queue_depth(amqp_uri: str, queue_name: str) -> int:
    """Messages ready in a queue right now."""
    with Connection(amqp_uri) as connection:
        _, depth, _ = connection.default_channel.queue_declare(queue_name, passive=True)
    return int(depth)
