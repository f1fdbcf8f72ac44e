"""Probes and metrics for operators, and the public list of open rounds."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request
from kombu import Connection

from gateway.auth.decorators import public
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

    `?scope=replica` is what a load balancer asks every second or so: is *this* replica
    ready (it answers and reaches the broker)? The services' RPC round is left out there:
    every replica shares the services, so a slow one would take all replicas out at once
    and refuse even the submissions, which need only the broker.

    Example: `curl localhost:8000/readyz`, `curl 'localhost:8000/readyz?scope=replica'`
    """
    backends = current_app.extensions["tuyensinh"]
    try:
        with Connection(backends.config["AMQP_URI"], connect_timeout=2) as connection:
            connection.ensure_connection(max_retries=1)
        broker = "ok"
    except Exception as exc:
        broker = f"unavailable ({type(exc).__name__})"
    replica_only = request.args.get("scope") == "replica"
    services = backends.service_health() if broker == "ok" and not replica_only else {}
    ready = broker == "ok" and all(state == "ok" for state in services.values())
    return {"ready": ready, "broker": broker, "services": services}, 200 if ready else 503


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
    return current_app.extensions["tuyensinh"].open_rounds()
