"""The gateway's WSGI app factory, served by gunicorn (see gateway/gunicorn.conf.py)."""

from __future__ import annotations

import atexit
from pathlib import Path
from typing import Any

import kombu.pools
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from gateway.api import (
    applications,
    audit,
    auth,
    chances,
    corrections,
    dashboard,
    draw,
    health,
    helpdesk,
    helpdesks,
    inbox,
    intake,
    late,
    live,
    offers,
    outcomes,
    preferences,
    reserved,
    rounds,
    schools,
)
from gateway.api.submit_door import SubmissionDoor
from gateway.audit import AuditLog
from gateway.auth.checks import RequestChecks
from gateway.auth.ownership import Claims
from gateway.auth.revocation import Denylist
from gateway.auth.service import Authenticator
from gateway.backends import EXTENSION, Backends
from gateway.backlog import SubmissionGate
from gateway.db import GatewayDatabase
from gateway.errors import register_error_handlers
from gateway.groupcommit import SharedTransaction
from gateway.hooks import install_hooks
from gateway.logging import configure_logging
from gateway.metrics import Metrics
from gateway.portal import mount_portal
from gateway.ratelimit import RateLimits, connect_storage
from gateway.smorest import Api
from shared.config import load_config, refuse_default_secrets

CONFIG_PATH = Path(__file__).with_name("config.yml")
BLUEPRINTS = (
    health.blp,
    auth.blp,
    applications.blp,
    helpdesk.blp,
    helpdesks.blp,
    schools.blp,
    rounds.blp,
    reserved.blp,
    late.blp,
    draw.blp,
    audit.blp,
    live.blp,
    dashboard.blp,
    offers.blp,
    intake.blp,
    inbox.blp,
    preferences.blp,
    chances.blp,
    outcomes.blp,
    corrections.blp,
)


def settings(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """gateway/config.yml with `overrides` on top (mappings such as RATE_LIMITS are merged)."""
    config = load_config(CONFIG_PATH)
    for key, value in (overrides or {}).items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    refuse_default_secrets(config)
    return config


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app for one worker; nothing connects until the first request needs it
    (except one ping to the rate-limit store, to choose it)."""
    config = settings(config)
    configure_logging(str(config.get("LOG_LEVEL", "INFO")))
    app = Flask("tuyensinh-gateway")
    app.config.update(
        API_TITLE="Tuyensinh",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/",
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    # Parents' submissions take their own WSGI path in front of Flask (gateway.api.submit_door);
    # behind the proxy fix, so it sees the caller's address as every other route does.
    app.wsgi_app = SubmissionDoor(app, app.wsgi_app)  # type: ignore[method-assign]
    proxies = int(config.get("TRUSTED_PROXIES", 0))
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies)  # type: ignore[method-assign]
    # kombu's pools are per process; never shrink them under a producer that is in use.
    kombu.pools.set_limit(max(kombu.pools.get_limit(), int(config["PRODUCER_POOL_SIZE"])))

    metrics = Metrics()
    backends = Backends(config, metrics)
    storage = connect_storage(config)
    db = GatewayDatabase(config["GATEWAY_DB_URI"], int(config.get("GATEWAY_DB_POOL_SIZE", 10)))
    limits = RateLimits(storage, dict(config["RATE_LIMITS"]), metrics)
    denylist = Denylist(
        storage,
        token_seconds=int(config["ACCESS_TOKEN_MINUTES"]) * 60,
        refresh_seconds=float(config.get("REVOCATION_REFRESH_SECONDS", 1.0)),
    )
    synced = frozenset(str(config.get("RATE_LIMITS_SYNCED", "")).replace(" ", "").split(","))
    checks = RequestChecks(
        denylist, limits, synced, float(config.get("RATE_LIMIT_SYNC_SECONDS", 0.2))
    )
    # Claims and audit entries, group-committed; each writer's rows are one statement, so
    # the batch needs no transaction around it (gateway.db.GatewayDatabase.statements).
    writes = SharedTransaction(db.statements)
    app.extensions.update(
        {
            EXTENSION: backends,
            "metrics": metrics,
            "db": db,
            "audit": AuditLog(writes),
            "claims": Claims(writes),
            "ratelimits": limits,
            "checks": checks,
            "auth": Authenticator(config, db, denylist, backends.send_code),
        }
    )
    atexit.register(backends.rpc.close)
    atexit.register(backends.commands.close)
    atexit.register(backends.live.close)

    api = Api(app)
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    install_hooks(app)
    register_error_handlers(app)
    mount_portal(app)  # the web pages, on the same port (gateway/portal)
    app.wsgi_app = SubmissionGate(  # type: ignore[method-assign]
        app.wsgi_app,
        limit=int(config.get("SUBMIT_INFLIGHT_LIMIT", 64)),
        retry_after=int(config.get("BACKLOG_RETRY_AFTER_SECONDS", 30)),
        metrics=metrics,
    )
    return app
