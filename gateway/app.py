"""The gateway's WSGI app factory, served by gunicorn (see gateway/gunicorn.conf.py)."""

from __future__ import annotations

import atexit
from pathlib import Path
from typing import Any

import kombu.pools
from flask import Flask

from gateway.api import applications, health, schools
from gateway.backends import Backends
from gateway.errors import register_error_handlers
from gateway.smorest import Api
from shared.config import load_config

CONFIG_PATH = Path(__file__).with_name("config.yml")


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app for one worker; nothing connects until the first request needs it."""
    config = config or load_config(CONFIG_PATH)
    app = Flask("tuyensinh-gateway")
    app.config.update(
        API_TITLE="Tuyensinh",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    # kombu's pools are per process; never shrink them under a producer that is in use.
    kombu.pools.set_limit(max(kombu.pools.get_limit(), int(config["PRODUCER_POOL_SIZE"])))
    backends = Backends(config)
    app.extensions["tuyensinh"] = backends
    atexit.register(backends.rpc.close)

    api = Api(app)
    for blueprint in (health.blp, applications.blp, schools.blp):
        api.register_blueprint(blueprint)
    register_error_handlers(app)
    return app
