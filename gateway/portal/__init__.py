"""The web portal: server-rendered pages for parents, schools and the department.

It is a small Flask app of its own, mounted in front of the API on the gateway's port
(`mount_portal`): pages go to the portal, everything the API serves stays the API's. Each
page does its work through the API in-process (gateway/portal/client.py), so the portal
adds no second copy of authentication, authorisation or any business rule. It shares the
gateway's hooks (correlation ID, deny-by-default access guard, rate limits, metrics, access
log): every page is marked `@public(...)` because the API checks the user behind it.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from gateway.auth.decorators import SUBJECT
from gateway.backends import backends_of
from gateway.hooks import install_hooks
from gateway.portal import client, csrf
from gateway.portal.client import ApiClient
from gateway.portal.dispatch import PortalDispatcher
from gateway.portal.pages import install_pages
from gateway.smorest import MAX_MULTIPART_BYTES
from shared.config import load_config

CONFIG_PATH = Path(__file__).with_name("config.yml")


def session_secret(token_secret: str) -> bytes:
    """The key that signs the session cookie, derived from the gateway's TOKEN_SECRET (which is
    refused at its default outside development), so there is no second secret to manage."""
    return hmac.new(token_secret.encode(), b"tuyensinh-portal-session", hashlib.sha256).digest()


def create_portal(api: Flask, overrides: dict[str, Any] | None = None) -> Flask:
    """The portal app for one gateway worker, sharing the API app's extensions."""
    config = {**load_config(CONFIG_PATH), **(overrides or {})}
    backends = backends_of(api)
    portal = Flask(__name__)
    portal.config.update(
        SECRET_KEY=session_secret(str(backends.config["TOKEN_SECRET"])),
        SESSION_COOKIE_NAME="tuyensinh_session",
        SESSION_COOKIE_SECURE=_flag(config["COOKIE_SECURE"]),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=int(config["SESSION_HOURS"])),
        # The largest form is a correction request with its evidence: anything larger is
        # refused (413) before it is read.
        MAX_CONTENT_LENGTH=MAX_MULTIPART_BYTES,
        PORTAL=config,
    )
    # The same metrics, rate limits, audit log and accounts as the API: one of each per worker.
    portal.extensions.update(api.extensions)
    portal.extensions["portal_api"] = ApiClient(api.wsgi_app)
    portal.extensions[SUBJECT] = client.account  # a signed-in page counts its account
    install_hooks(portal)
    portal.before_request(csrf.check)
    install_pages(portal)
    return portal


def mount_portal(api: Flask, overrides: dict[str, Any] | None = None) -> Flask:
    """Serve the portal's pages on the API app's port; returns the portal app."""
    portal = create_portal(api, overrides)
    pages: Any = portal.wsgi_app
    proxies = int(backends_of(api).config.get("TRUSTED_PROXIES", 0))
    if proxies:
        pages = ProxyFix(pages, x_for=proxies)
    api.wsgi_app = PortalDispatcher(api.wsgi_app, pages, api.url_map)  # type: ignore[method-assign]
    return portal


def _flag(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("1", "true", "yes", "on")
