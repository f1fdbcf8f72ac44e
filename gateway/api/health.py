"""Probes and metrics for operators, and the public list of open rounds."""

from __future__ import annotations

import time
from typing import Any

from flask import Response, current_app, request
from kombu import Connection

from gateway.auth.decorators import public
from gateway.backends import current_backends
from gateway.schemas import RoundView
from gateway.smorest import Blueprint

blp = Blueprint("ops", __name__, url_prefix="")


@blp.route("/healthz")
@public()
@blp.response(200)
def healthz() -> dict[str, str]:
    """Liveness: the worker answers. Example: `curl localhost:8000/healthz`"""
    return {"status": "ok"}


@blp.route("/readyz")
@public(limit="lookup")
@blp.response(200)
@blp.alt_response(503, description="The broker or a service is not ready.")
def readyz() -> tuple[dict[str, Any], int]:
    """Readiness: the broker accepts connections and every service answers over RPC.

    `?scope=replica` asks only whether *this* replica is ready (it answers and reaches the
    broker), as `/readyz/replica` does for the load balancer. The services' RPC round is left
    out there: every replica shares the services, so a slow one would take all replicas out
    at once and refuse even the submissions, which need only the broker.

    Example: `curl localhost:8000/readyz`, `curl 'localhost:8000/readyz?scope=replica'`
    """
    backends = current_backends()
    broker = _broker(backends.config["AMQP_URI"])
    replica_only = request.args.get("scope") == "replica"
    services = backends.service_health() if broker == "ok" and not replica_only else {}
    ready = broker == "ok" and all(state == "ok" for state in services.values())
    return {"ready": ready, "broker": broker, "services": services}, 200 if ready else 503


@blp.route("/readyz/replica")
@public()
@blp.response(200)
@blp.alt_response(503, description="This replica cannot reach the broker.")
def replica_ready() -> tuple[dict[str, Any], int]:
    """What the load balancer asks every second or so: is *this* replica ready (it answers
    and reaches the broker)? Not rate-limited, so a crowd behind the load balancer's own
    address never takes a replica out; the broker is tried at most once a second per worker
    (`REPLICA_CHECK_SECONDS`), so a flood of it costs nothing more.

    Example: `curl localhost:8000/readyz/replica`
    """
    config = current_backends().config
    seconds = float(config.get("REPLICA_CHECK_SECONDS", 1.0))
    checked_at, broker = _last_replica_check
    if time.monotonic() - checked_at >= seconds:
        broker = _broker(config["AMQP_URI"])
        _last_replica_check[:] = [time.monotonic(), broker]
    ready = broker == "ok"
    return {"ready": ready, "broker": broker, "services": {}}, 200 if ready else 503


# This worker's last broker check for the load balancer: [monotonic seconds, state].
_last_replica_check: list[Any] = [float("-inf"), ""]


def _broker(amqp_uri: str) -> str:
    """ "ok", or why the broker cannot be reached (a connection tried once, 2 s at most)."""
    try:
        with Connection(amqp_uri, connect_timeout=2) as connection:
            connection.ensure_connection(max_retries=1)
        return "ok"
    except Exception as exc:
        return f"unavailable ({type(exc).__name__})"


@blp.route("/metrics")
@public()
@blp.response(200, content_type="text/plain")
def metrics() -> Response:
    """Prometheus metrics of every worker (scrape from the internal network only).

    Example: `curl localhost:8000/metrics`
    """
    registry = current_app.extensions["metrics"]
    return Response(registry.exposition(), mimetype=registry.content_type)


@blp.route("/api/v1/rounds")
@public(limit="lookup", shared=True)
@blp.response(200, RoundView(many=True))
def open_rounds() -> list[dict[str, Any]]:
    """Rounds open for applications now. Example: `curl localhost:8000/api/v1/rounds`"""
    return current_backends().open_rounds()
