"""The baselines P1 is measured against, served by gunicorn exactly like the gateway.

`hello`: answers a fixed JSON body (the cost of gunicorn + gevent + HTTP alone).
`publish`: validates the body with the gateway's own schema, publishes it persistently and
waits for the broker's confirm, then answers 202 (the least the real intake has to do), a
bare publish: one message per confirm, through nameko's Publisher, as the gateway did until
it grouped the confirms of requests arriving together (gateway/commands.py).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from marshmallow import ValidationError

from gateway.schemas import SubmitApplicationRequest
from shared.messaging.bus import MessageBus

Start = Callable[[str, list[tuple[str, str]]], Any]
JSON = [("Content-Type", "application/json")]


def hello(environ: dict[str, Any], start_response: Start) -> Iterable[bytes]:
    """A hello-JSON app."""
    environ["wsgi.input"].read()
    start_response("200 OK", JSON)
    return [b'{"hello": "world"}']


_bus: MessageBus | None = None
_schema = SubmitApplicationRequest()


def publish(environ: dict[str, Any], start_response: Start) -> Iterable[bytes]:
    """Validate, publish with confirm, answer 202."""
    global _bus
    if _bus is None:
        _bus = MessageBus(os.environ["AMQP_URI"])
    length = int(environ.get("CONTENT_LENGTH") or 0)
    try:
        form = _schema.load(json.loads(environ["wsgi.input"].read(length)))
    except (ValidationError, ValueError):
        start_response("400 Bad Request", JSON)
        return [b'{"error": "invalid"}']
    reference = uuid.uuid4().hex
    body = {"event_id": reference, "correlation_id": reference, "type": "baseline", "form": form}
    _bus._publisher.publish(  # a confirmed, persistent publish, one at a time
        json.loads(json.dumps(body, default=str)),
        exchange="",
        routing_key="bench.baseline",
        message_id=reference,
        mandatory=False,
    )
    start_response("202 Accepted", JSON)
    return [json.dumps({"reference": reference, "status": "received"}).encode()]
