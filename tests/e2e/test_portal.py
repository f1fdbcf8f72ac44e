"""A whole season through the web portal, in a real browser (Debian's Chromium, headless, driven
by Playwright) against the real processes: `nameko run` ×3, the gunicorn gateway (gevent), an
SMTP sink and an SMS provider sink on the real RabbitMQ (own vhost) and PostgreSQL.

This module starts the system; the browser plays in a clean child process
(tests/e2e/test_portal_browser.py), since Playwright cannot wait for the browser inside
this eventlet-patched process.

The department creates and opens a round; the demo city's families apply (through the API,
to give the charts something to show); a new parent signs up with the code texted to the
phone, looks up the catchment, registers a child (first with mistakes, to see the errors);
the department closes, allocates, reads the charts, runs the verifier, exports and
publishes; the parent reads the offer's explanation and accepts; the school confirms.
Every main page is photographed at phone (360 px) and desktop width into docs/screenshots/,
and the parent pages are read in both languages: no string of one survives in the other.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from services.allocation.schools import import_city
from services.registration.register_import import import_register
from shared.db.engine import build_engine
from tests.conftest import start_smtp_sink
from tests.e2e.conftest import PROCESSES, SERVICES, System, _ready
from tests.integration.notification_support import SMS_TOKEN, SmsSink
from tests.support.accounts import FAST_ARGON2, PARENT, credentials, make_account
from tests.support.broker import create_vhost, delete_vhost
from tests.support.databases import create_database, drop_database
from tests.support.processes import BIN, ROOT, Processes, free_port
from tests.support.waiting import wait_for
from tools.demo_city import build_city

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
SEASON_TIMEOUT = 900
LIMITS = ("LOGIN_IP", "LOGIN_ACCOUNT", "SIGNUP_IP", "SUBMIT", "ACCOUNT", "COSTLY", "LOOKUP")
LIMITS += ("LOOKUP_IP", "IP_CEILING")


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small demo city's files."""
    directory = tmp_path_factory.mktemp("city")
    build_city(directory, "small", 2027, 2027)
    return directory


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory, city: Path) -> Iterator[System]:
    """Everything running with the city's schools and register loaded, no round yet, and the
    SMS provider sink receiving the texted codes."""
    workdir = tmp_path_factory.mktemp("portal")
    amqp_uri = create_vhost()
    databases = {service: create_database(service) for service in (*SERVICES, "gateway")}
    engine = build_engine(databases["allocation"])
    with Session(engine) as session, session.begin():
        import_city(session, city)
    engine.dispose()
    engine = build_engine(databases["registration"])
    import_register(engine, city / "register.csv", progress=False)
    engine.dispose()
    processes = Processes(workdir / "logs")
    sms = SmsSink(processes)
    smtp_port, gateway_port = free_port(), free_port()
    env = {
        "AMQP_URI": amqp_uri,
        "REGISTRATION_DB_URI": databases["registration"],
        "ALLOCATION_DB_URI": databases["allocation"],
        "NOTIFICATION_DB_URI": databases["notification"],
        "SMTP_PORT": str(smtp_port),
        "SMS_TRANSPORT": "http",
        "SMS_URL": f"{sms.url}/sms",
        "SMS_AUTH_VALUE": SMS_TOKEN,
        "GATEWAY_BIND": f"127.0.0.1:{gateway_port}",
        "GATEWAY_WORKERS": "2",
        "RETRY_DELAYS_MS": json.dumps([200, 500]),
        "WINDOW_NOTICE_SECONDS": "0",  # open and close at once (the window test gives notice)
        "OUTBOX_POLL_SECONDS": "0.2",
        "DB_POOL_SIZE": "4",
        "GATEWAY_DB_POOL_SIZE": "4",
        "RPC_TIMEOUT_SECONDS": "20",
        "GATEWAY_DB_URI": databases["gateway"],
        "RATELIMIT_KEY_PREFIX": f"ts-portal-{uuid.uuid4().hex[:10]}",
        **{f"RATE_LIMIT_{name}": "100000/minute" for name in LIMITS},
        **{key: str(value) for key, value in FAST_ARGON2.items()},
    }
    url = f"http://127.0.0.1:{gateway_port}"
    try:
        start_smtp_sink(processes, smtp_port, workdir / "mail")
        for service in PROCESSES:
            processes.nameko(service, env)
        gunicorn = [str(BIN / "gunicorn"), "-c", "gateway/gunicorn.conf.py"]
        processes.start("gateway", [*gunicorn, "gateway.app:create_app()"], env)
        running = System(url, databases, workdir, processes)
        running.sms = sms  # type: ignore[attr-defined]
        try:
            wait_for(lambda: _ready(url), timeout=60, what="the system to be ready")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{running.logs()}\n{processes.log('gateway')}") from exc
        yield running
    finally:
        processes.stop_all()
        for uri in databases.values():
            drop_database(uri)
        delete_vhost(amqp_uri)


def test_a_whole_season_through_the_portal(system: System, city: Path, tmp_path: Path) -> None:
    if not CHROMIUM.exists():  # fail, never skip: .ci/run installs it
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    db = system.databases["gateway"]
    config = {
        "url": system.url,
        "sms_url": system.sms.url,  # type: ignore[attr-defined]
        "city": str(city),
        "gateway_db": db,
        "bulk_parent": credentials(db, make_account(db, PARENT)),
    }
    (tmp_path / "season.json").write_text(json.dumps(config), encoding="utf-8")
    command = [
        str(BIN / "python"),
        "-m",
        "tests.e2e.test_portal_browser",
        str(tmp_path / "season.json"),
    ]
    try:
        played = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=SEASON_TIMEOUT
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(
            f"the season did not finish in {SEASON_TIMEOUT}s: {exc.stdout}"
        ) from exc
    output = f"{played.stdout[-6000:]}\n{played.stderr[-6000:]}"
    assert played.returncode == 0, (
        f"{output}\n{system.logs()}\n{system.processes.log('gateway')[-4000:]}"
    )
    assert "[portal] the season played through" in played.stdout, output
