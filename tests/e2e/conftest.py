"""The whole system as separate processes: three `nameko run` services and the estimator, the
gunicorn gateway (gevent workers) and an aiosmtpd SMTP sink, on the real RabbitMQ (own vhost)
and PostgreSQL (one fresh database per service). Nothing is faked; the SMTP sink stands in for
the outside mail server and speaks real SMTP."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy.orm import Session

from services.allocation.cli import load_demo
from services.allocation.schools import import_city
from services.registration.register_import import import_register
from shared.db.engine import build_engine
from tests.conftest import start_smtp_sink
from tests.support.accounts import FAST_ARGON2
from tests.support.broker import create_vhost, delete_vhost
from tests.support.databases import create_database, drop_database
from tests.support.processes import BIN, Processes, free_port
from tests.support.waiting import wait_for
from tools.demo_city import build_city

SERVICES = ("registration", "allocation", "notification")  # each with its own database
# The nameko processes: the services, and the estimator (on allocation's database).
PROCESSES = (*SERVICES, "estimator")
RELAXED_LIMITS = ("LOGIN_IP", "LOGIN_ACCOUNT", "SIGNUP_IP", "SUBMIT", "ACCOUNT", "COSTLY", "LOOKUP")
RELAXED_LIMITS += ("LOOKUP_IP", "IP_CEILING")


class System:
    """Handles on the running system: its URL, databases, maildir, city files and logs."""

    def __init__(
        self,
        url: str,
        databases: dict[str, str],
        workdir: Path,
        processes: Processes,
        env: dict[str, str] | None = None,
    ):
        self.url, self.databases, self.processes = url, databases, processes
        self.maildir, self.city = workdir / "mail", workdir / "city"
        self.env = env or {}  # every process's settings: a test restarts one with them

    def api(self, path: str) -> str:
        """Absolute URL of an API path."""
        return f"{self.url}{path}"

    def logs(self) -> str:
        """Every process's log, for a failing assertion's message."""
        return "\n".join(f"--- {name}\n{self.processes.log(name)[-3000:]}" for name in PROCESSES)


def _ready(url: str) -> Any:
    try:
        answer = requests.get(f"{url}/readyz", timeout=5)
    except requests.RequestException:
        return False
    return answer.status_code == 200 and answer.json()


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[System]:
    """Start everything, wait until `/readyz` says so, stop everything afterwards. A module's
    `SYSTEM_ENV` (a dict) adds to or overrides the settings every process gets."""
    workdir = tmp_path_factory.mktemp("system")
    amqp_uri = create_vhost()
    # The gateway has its own database too: accounts, tokens, claims, the audit log.
    databases = {service: create_database(service) for service in (*SERVICES, "gateway")}
    city = workdir / "city"
    build_city(city, "small", 2027, 2027)
    engine = build_engine(databases["allocation"])
    with Session(engine) as session, session.begin():
        import_city(session, city)
        load_demo(session, 2027)
    engine.dispose()
    engine = build_engine(databases["registration"])
    import_register(engine, city / "register.csv", progress=False)
    engine.dispose()
    processes = Processes(workdir / "logs")
    smtp_port, gateway_port = free_port(), free_port()
    maildir = workdir / "mail"
    env = {
        "AMQP_URI": amqp_uri,
        "REGISTRATION_DB_URI": databases["registration"],
        "ALLOCATION_DB_URI": databases["allocation"],
        "NOTIFICATION_DB_URI": databases["notification"],
        "SMTP_PORT": str(smtp_port),
        "GATEWAY_BIND": f"127.0.0.1:{gateway_port}",
        "GATEWAY_WORKERS": "2",
        "RETRY_DELAYS_MS": json.dumps([200, 500]),
        "WINDOW_NOTICE_SECONDS": "0",  # open and close at once (the window test gives notice)
        "OUTBOX_POLL_SECONDS": "0.2",
        "GATEWAY_DB_URI": databases["gateway"],
        "RATELIMIT_KEY_PREFIX": f"ts-e2e-{uuid.uuid4().hex[:10]}",
        # The limits are tested on their own (integration); here they must not get in the way.
        **{f"RATE_LIMIT_{name}": "100000/minute" for name in RELAXED_LIMITS},
        **{key: str(value) for key, value in FAST_ARGON2.items()},
        **getattr(request.module, "SYSTEM_ENV", {}),
    }
    url = f"http://127.0.0.1:{gateway_port}"
    try:
        start_smtp_sink(processes, smtp_port, maildir)
        for service in PROCESSES:
            processes.nameko(service, env)
        gunicorn = [str(BIN / "gunicorn")]
        config = ["-c", "gateway/gunicorn.conf.py", "gateway.app:create_app()"]
        processes.start("gateway", gunicorn + config, env)
        system = System(url, databases, workdir, processes, env)
        try:
            wait_for(lambda: _ready(url), timeout=60, what="the system to be ready")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{system.logs()}\n{processes.log('gateway')}") from exc
        yield system
    finally:
        processes.stop_all()
        for uri in databases.values():
            drop_database(uri)
        delete_vhost(amqp_uri)


# Figures a test reports (not asserts), printed at the end of the run's summary.
FIGURES: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the figures the end-to-end tests reported."""
    for line in FIGURES:
        terminalreporter.write_line(line)
