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

from pathlib import Path

import pytest

from tests.e2e.conftest import System
from tests.support.accounts import PARENT, credentials, make_account
from tests.support.browser_process import play

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
SEASON_TIMEOUT = 900
# The city's schools and register, no round yet (the department makes one), and the SMS
# provider fake receiving the texted codes.
SYSTEM_OPTIONS = {"demo_rounds": False, "sms": True}
SYSTEM_ENV = {"DB_POOL_SIZE": "4", "GATEWAY_DB_POOL_SIZE": "4", "RPC_TIMEOUT_SECONDS": "20"}


def test_a_whole_season_through_the_portal(system: System, city: Path, tmp_path: Path) -> None:
    if not CHROMIUM.exists():  # fail, never skip: .ci/run installs it
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    db = system.databases["gateway"]
    config = {
        "url": system.url,
        "sms_url": system.sms_url,
        "city": str(city),
        "gateway_db": db,
        "bulk_parent": credentials(db, make_account(db, PARENT)),
    }
    played = play("test_portal_browser", config, tmp_path / "season.json", SEASON_TIMEOUT)
    assert played.returncode == 0, (
        f"{played.output}\n{system.logs()}\n{system.processes.log('gateway')[-4000:]}"
    )
    assert "[portal] the season played through" in played.stdout, played.output
