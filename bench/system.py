"""The whole system started for a benchmark: PostgreSQL databases, a RabbitMQ vhost, the
city-scale demo data, the three services, the gunicorn gateway and an SMTP sink."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from services.allocation.cli import load_demo
from services.allocation.schools import import_city
from services.registration.register_import import import_register
from shared.db.engine import build_engine
from tests.support.broker import create_vhost, delete_vhost
from tests.support.databases import create_database, drop_database
from tests.support.processes import BIN, ROOT, Processes, free_port, port_open
from tools.demo_city import build_city

SERVICES = ("registration", "allocation", "notification")
CITY = ROOT / "var" / "demo" / "city"


def city_files() -> Path:
    """The city-scale demo data, generated once and reused."""
    if not (CITY / "applications.jsonl").exists():
        build_city(CITY, "city", 2027, 2027)
    return CITY


@dataclass
class RunningSystem:
    """Handles on a running system."""

    url: str
    amqp_uri: str
    databases: dict[str, str]
    processes: Processes
    env: dict[str, str]

    def count(self, service: str, sql: str) -> int:
        """One integer from a service's database."""
        engine = create_engine(self.databases[service])
        try:
            with engine.connect() as connection:
                return int(connection.execute(text(sql)).scalar_one())
        finally:
            engine.dispose()

    def wait_until(self, service: str, sql: str, target: int, timeout: float) -> float:
        """Seconds until `sql` counts at least `target` (raises at the deadline)."""
        started = time.monotonic()
        while self.count(service, sql) < target:
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"{sql} stayed below {target} for {timeout}s")
            time.sleep(0.25)
        return time.monotonic() - started


def _prepare_databases(databases: dict[str, str], city: Path) -> None:
    engine = build_engine(databases["allocation"])
    with Session(engine) as session, session.begin():
        import_city(session, city)
        load_demo(session, 2027)
    engine.dispose()
    engine = build_engine(databases["registration"])
    import_register(engine, city / "register.csv", progress=False)
    engine.dispose()


def _ready(url: str) -> bool:
    try:
        return requests.get(f"{url}/readyz", timeout=5).status_code == 200
    except requests.RequestException:
        return False


@contextmanager
def running_system(workdir: Path, *, gateway_workers: int = 2) -> Iterator[RunningSystem]:
    """Start everything on fresh databases; stop and drop it all afterwards."""
    city = city_files()
    amqp_uri = create_vhost()
    databases = {service: create_database(service) for service in SERVICES}
    processes = Processes(workdir / "logs")
    try:
        _prepare_databases(databases, city)
        smtp_port, gateway_port = free_port(), free_port()
        env = {
            "AMQP_URI": amqp_uri,
            **{f"{s.upper()}_DB_URI": uri for s, uri in databases.items()},
            "SMTP_PORT": str(smtp_port),
            "GATEWAY_BIND": f"127.0.0.1:{gateway_port}",
            "GATEWAY_WORKERS": str(gateway_workers),
            "LOG_LEVEL": "WARNING",
            "RETRY_DELAYS_MS": json.dumps([500, 2000]),
        }
        sink = [str(BIN / "python"), "-m", "tools.smtp_sink", "--port", str(smtp_port)]
        processes.start("smtp", [*sink, "--maildir", str(workdir / "mail"), "--quiet"], {})
        for service in SERVICES:
            processes.nameko(service, env)
        gunicorn = [str(BIN / "gunicorn"), "-c", "gateway/gunicorn.conf.py"]
        processes.start("gateway", [*gunicorn, "gateway.app:create_app()"], env)
        url = f"http://127.0.0.1:{gateway_port}"
        deadline = time.monotonic() + 90
        while not (port_open(gateway_port) and _ready(url)):
            if time.monotonic() > deadline:
                raise TimeoutError("the system did not become ready in 90 s")
            time.sleep(0.5)
        yield RunningSystem(url, amqp_uri, databases, processes, env)
    finally:
        processes.stop_all()
        for uri in databases.values():
            drop_database(uri)
        delete_vhost(amqp_uri)


def count_rows(db_uri: str, table: str) -> int:
    """Rows in a table."""
    engine = create_engine(db_uri)
    try:
        with Session(engine) as session:
            return int(session.scalar(select(func.count()).select_from(text(table))) or 0)
    finally:
        engine.dispose()
