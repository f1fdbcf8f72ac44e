"""The whole system as separate processes, for the end-to-end tests, the benchmarks and the
chaos scenarios alike: PostgreSQL databases (one per service and the gateway's), a RabbitMQ
vhost, a demo city's schools and register, the three `nameko run` services and the
estimator, gunicorn gateway replicas, and the outside world's fakes that speak the real
protocols (an aiosmtpd SMTP sink, an HTTP SMS provider). Nothing inside the system is faked."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import requests
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from services.allocation.cli import load_demo
from services.allocation.schools import import_city
from services.registration.register.csv_import import import_register
from shared.db.engine import build_engine
from tests.support.accounts import FAST_ARGON2, PARENT, bearer, credentials, make_account
from tests.support.broker import MANAGEMENT, create_vhost, delete_vhost
from tests.support.databases import create_database, drop_database
from tests.support.processes import BIN, ROOT, Processes, free_port, port_open
from tools.demo_city import build_city

if TYPE_CHECKING:
    from chaos.infra import PrivatePostgres, PrivateRabbit

SERVICES = ("registration", "allocation", "notification")  # each with its own database
# The nameko processes: the services, and the estimator (on allocation's database).
PROCESSES = (*SERVICES, "estimator")
CITY = ROOT / "var" / "demo" / "city"

# The tests' settings on top of running_system's: quick retries and outbox polls, the logs at
# INFO for a failing assertion's message, cheap password hashing, and the rate limits out of
# the way (they are tested on their own, in the integration tests).
RELAXED_LIMITS = ("LOGIN_IP", "LOGIN_ACCOUNT", "SIGNUP_IP", "SUBMIT", "ACCOUNT", "COSTLY")
RELAXED_LIMITS += ("LOOKUP", "LOOKUP_IP", "IP_CEILING")
TEST_SETTINGS = {
    "LOG_LEVEL": "INFO",
    "RETRY_DELAYS_MS": json.dumps([200, 500]),
    "OUTBOX_POLL_SECONDS": "0.2",
    **{f"RATE_LIMIT_{name}": "100000/minute" for name in RELAXED_LIMITS},
    **{key: str(value) for key, value in FAST_ARGON2.items()},
}


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
    workdir: Path
    management: str = MANAGEMENT  # the broker's management API
    postgres: PrivatePostgres | None = None
    rabbit: PrivateRabbit | None = None
    background_nice: int = 0  # the services' and sinks' niceness (see running_system)
    city: Path = CITY  # the demo city's files the databases were loaded from
    sms_port: int | None = None  # the SMS provider fake's port, when the run has one

    def api(self, path: str) -> str:
        """Absolute URL of an API path."""
        return f"{self.url}{path}"

    def logs(self) -> str:
        """Every service's log (the end of it), for a failing assertion's message."""
        return "\n".join(f"--- {name}\n{self.processes.log(name)[-3000:]}" for name in PROCESSES)

    @property
    def sms_url(self) -> str:
        """The SMS provider fake's base URL (`GET /messages` lists what it accepted)."""
        assert self.sms_port, "this run sends SMS to the console, not to a provider"
        return f"http://127.0.0.1:{self.sms_port}"

    @property
    def maildir(self) -> Path:
        """Where the SMTP sink keeps every message it received."""
        return self.workdir / "mail"

    @property
    def sms_outbox(self) -> Path:
        """Where the SMS sink keeps every text it took (when the run sends SMS over HTTP)."""
        return self.workdir / "sms.jsonl"

    def parent_headers(self) -> dict[str, str]:
        """A logged-in parent's Authorization header (one account submits every child)."""
        return self.headers_of(PARENT)

    def headers_of(self, role: str, school: str | None = None) -> dict[str, str]:
        """The Authorization header of a new account of `role`, logged in."""
        account = make_account(self.databases["gateway"], role, school=school)
        body = credentials(self.databases["gateway"], account)
        answer = requests.post(f"{self.url}/api/v1/auth/token", json=body, timeout=30)
        answer.raise_for_status()
        return bearer(answer.json()["access_token"])

    def kill(self, name: str) -> None:
        """`kill -9` one process this run started (by its recorded PID)."""
        self.processes.stop(name, signal.SIGKILL)

    def start_service(self, service: str, name: str | None = None) -> None:
        """Start (another instance of) a service under `name` (default: the service's name)."""
        self.processes.nameko(service, self.env, name, self.background_nice)

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


def prepare_databases(databases: dict[str, str], city: Path, demo_rounds: bool = True) -> None:
    """Load the city's schools (and its demo rounds, unless told not to) into allocation and
    its population register into registration, as an operator does before starting."""
    engine = build_engine(databases["allocation"])
    with Session(engine) as session, session.begin():
        import_city(session, city)
        if demo_rounds:
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
def running_system(
    workdir: Path,
    *,
    gateway_workers: int = 2,
    postgres: PrivatePostgres | None = None,
    rabbit: PrivateRabbit | None = None,
    sms: bool = False,
    extra_env: dict[str, str] | None = None,
    city: Path | None = None,
    background_nice: int = 0,
    broker: tuple[str, str] | None = None,
    replicas: Sequence[int] = (),
    front: str | None = None,
    demo_rounds: bool = True,
    databases: dict[str, str] | None = None,
) -> Iterator[RunningSystem]:
    """Start everything on fresh databases; stop and drop it all afterwards.

    By default on the machine's PostgreSQL and RabbitMQ; the chaos scenarios pass a private
    cluster and node they started themselves (and may restart). `sms` sends SMS over HTTP to
    a local sink that keeps every text, instead of the console transport. `city`: another
    demo city's files (default: the city-scale one). `background_nice`: the niceness of the
    services and the sinks, so that the gateway, which answers people, gets the cores first
    when they share them; the services drain their queues with what is left. `broker`: the
    AMQP URI and management URL of a broker started by the caller (a cluster behind HAProxy);
    `replicas`: the ports of the gateway replicas to start ("gateway", "gateway-2", ...;
    default one on a free port); `front`: the URL in front of them (HAProxy). `demo_rounds`:
    False starts with the city's schools and register but no round. `databases`: ones the
    caller made and loaded (and drops); by default fresh ones, loaded here and dropped after.
    """
    city = city or city_files()
    if broker:
        amqp_uri, management = broker
    else:
        amqp_uri = rabbit.amqp_uri if rabbit else create_vhost()
        management = rabbit.management if rabbit else MANAGEMENT
    make_db = postgres.create_database if postgres else create_database
    own_databases = databases is None
    if databases is None:
        databases = {name: make_db(name) for name in (*SERVICES, "gateway")}
    processes = Processes(workdir / "logs")
    sms_port = free_port() if sms else None
    try:
        if own_databases and not (postgres and postgres.loaded):  # a chaos clone comes loaded
            prepare_databases(databases, city, demo_rounds)
        smtp_port, ports = free_port(), list(replicas) or [free_port()]
        env = {
            "AMQP_URI": amqp_uri,
            **{f"{s.upper()}_DB_URI": uri for s, uri in databases.items() if s in SERVICES},
            "SMTP_PORT": str(smtp_port),
            "GATEWAY_BIND": f"127.0.0.1:{ports[0]}",
            "GATEWAY_WORKERS": str(gateway_workers),
            "LOG_LEVEL": "WARNING",
            "RETRY_DELAYS_MS": json.dumps([500, 2000]),
            "WINDOW_NOTICE_SECONDS": "0",  # open and close at once (the window test gives notice)
            "GATEWAY_DB_URI": databases["gateway"],
            # One parent account submits every child of a load run, for an hour.
            "RATE_LIMIT_SUBMIT": "1000000/minute",
            # ... all from this machine's one address (a crowd arrives from many), and one
            # account and one address stand for the crowd's look-ups and status polls too.
            **{
                f"RATE_LIMIT_{name}": "100000000/minute"
                for name in ("IP_CEILING", "LOOKUP", "LOOKUP_IP", "ACCOUNT")
            },
            "ACCESS_TOKEN_MINUTES": "120",
            "RATELIMIT_KEY_PREFIX": f"bench-{time.time_ns()}",
            "DB_POOL_SIZE": "5",
            **(extra_env or {}),
        }
        sink = [str(BIN / "python"), "-m", "tools.smtp_sink", "--port", str(smtp_port)]
        mail = ["--maildir", str(workdir / "mail"), "--quiet"]
        processes.start("smtp", [*sink, *mail], {}, background_nice)
        if sms_port:
            env |= {"SMS_TRANSPORT": "http", "SMS_URL": f"http://127.0.0.1:{sms_port}/sms"}
            texts = [str(BIN / "python"), "-m", "tools.sms_sink", "--port", str(sms_port)]
            outbox = str(workdir / "sms.jsonl")
            processes.start("sms", [*texts, "--outbox", outbox, "--quiet"], {}, background_nice)
        # The deploy step: the whole broker topology before any process publishes.
        deploy = [str(BIN / "python"), "-m", "tools.topology"]
        subprocess.run(deploy, env={**os.environ, **env}, cwd=ROOT, check=True, capture_output=True)
        for service in PROCESSES:
            processes.nameko(service, env, nice=background_nice)
        gunicorn = [str(BIN / "gunicorn"), "-c", "gateway/gunicorn.conf.py"]
        for i, port in enumerate(ports):
            name, bind = "gateway" if i == 0 else f"gateway-{i + 1}", f"127.0.0.1:{port}"
            processes.start(
                name, [*gunicorn, "gateway.app:create_app()"], env | {"GATEWAY_BIND": bind}
            )
        url = front or f"http://127.0.0.1:{ports[0]}"
        running = RunningSystem(
            url,
            amqp_uri,
            databases,
            processes,
            env,
            workdir,
            management,
            postgres,
            rabbit,
            background_nice,
            city,
            sms_port,
        )
        deadline = time.monotonic() + 180  # a loaded machine starts gunicorn slowly
        while not (all(port_open(port) for port in ports) and _ready(url)):
            if time.monotonic() > deadline:
                gateway = processes.log("gateway")[-3000:]
                raise TimeoutError(
                    f"the system did not become ready in 180 s\n{running.logs()}\n{gateway}"
                )
            time.sleep(0.5)
        yield running
    finally:
        processes.stop_all()
        if postgres is None and own_databases:
            for uri in databases.values():
                drop_database(uri)
        if rabbit is None and broker is None:
            delete_vhost(amqp_uri)


def count_rows(db_uri: str, table: str) -> int:
    """Rows in a table."""
    engine = create_engine(db_uri)
    try:
        with Session(engine) as session:
            return int(session.scalar(select(func.count()).select_from(text(table))) or 0)
    finally:
        engine.dispose()
