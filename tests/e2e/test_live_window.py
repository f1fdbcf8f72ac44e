"""The department's live window page during a load, on the real system (three `nameko run`
services, the gunicorn gateway, the SMTP and SMS sinks, RabbitMQ, PostgreSQL).

Submissions arrive a few a second (some rejected by the register, some amended) while the
department watches the page in Chromium (tests/e2e/live_browser.py), which photographs it at
360 px and 1280 px during the load. Once everything is checked and sent, the figures the page
shows must equal the real counts: submissions the children answered 202, statuses, wards
and rejection reasons as stored in registration's database, notices as the sinks received.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from bench.loadgen import bodies_from
from gateway.portal.live_figures import REJECTION_REASONS
from gateway.portal.wards import wards_of
from tests.support.accounts import DEPARTMENT, PASSWORD, account_row, make_account
from tests.support.processes import BIN, ROOT
from tests.support.system import RunningSystem, running_system
from tests.support.waiting import wait_for
from tools.demo_city import build_city

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

ROUND = "2027-grade_1"
CHROMIUM = Path("/usr/bin/chromium")
PROVINCE = 1  # the portal's PROVINCE_CODE default: the page names wards from this list


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    workdir = tmp_path_factory.mktemp("live")
    city = workdir / "city"
    build_city(city, "small", 2027, 2027)
    with running_system(workdir / "system", city=city, sms=True) as running:
        yield running


def test_the_live_window_shows_the_real_counts_during_a_load(
    system: RunningSystem, tmp_path: Path
) -> None:
    if not CHROMIUM.exists():  # fail, never skip: .ci/run installs it
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    found = bodies_from(system.workdir.parent / "city" / "applications.jsonl")
    bodies = [body for body in map(json.loads, found) if body["round_id"] == ROUND]
    assert len(bodies) >= 100
    # One in five with a name the register does not have: rejected (name_mismatch). Five
    # children are then amended with such a name: verified first, rejected after, counted once.
    wrong_name = {"full_name": "Tên Không Khớp"}

    def wrong(body: dict[str, Any]) -> dict[str, Any]:
        return {**body, "child": {**body["child"], **wrong_name}}

    load = [wrong(b) if i % 5 == 4 else b for i, b in enumerate(bodies)]
    amended = [b for i, b in enumerate(bodies) if i % 5 != 4][:5]
    load += [wrong(b) for b in amended]
    rejected = sum(1 for i in range(len(bodies)) if i % 5 == 4) + len(amended)

    db = system.databases["gateway"]
    login = {"who": account_row(db, make_account(db, DEPARTMENT)).username, "password": PASSWORD}
    config = {"url": system.url, "round": ROUND, "login": login, "workdir": str(tmp_path)}
    (tmp_path / "live.json").write_text(json.dumps(config), encoding="utf-8")
    command = [str(BIN / "python"), "-m", "tests.e2e.live_browser", str(tmp_path / "live.json")]
    browser = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        parent = system.parent_headers()
        accepted = Counter[str]()
        for body in load:
            answer = requests.post(
                f"{system.url}/api/v1/applications", json=body, headers=parent, timeout=30
            )
            assert answer.status_code == 202, answer.text
            accepted[body["child"]["citizen_id"]] += 1
            # A few a second until the browser has its screenshots, so they show a load.
            if browser.poll() is None and not (tmp_path / "shot").exists():
                time.sleep(0.6)
        expected = _settled(system, len(accepted))
        time.sleep(3)  # past the gateway's cache of the live figures
        (tmp_path / "done").write_text("the load is over", encoding="utf-8")
        output, _ = browser.communicate(timeout=300)
    finally:
        if browser.poll() is None:
            browser.kill()
            browser.communicate()
    assert browser.returncode == 0, f"{output[-6000:]}\n{system.processes.log('gateway')[-3000:]}"
    assert "[portal] photographed during the load" in output, output
    shown = json.loads((tmp_path / "figures.json").read_text(encoding="utf-8"))

    assert shown["submitted"] == len(accepted) == expected["applications"] == len(bodies)
    assert sum(shown["per_minute"].values()) == len(accepted)
    assert shown["verified"] == expected["statuses"]["verified"] == len(bodies) - rejected
    assert shown["rejected"] == expected["statuses"]["rejected"] == rejected
    assert shown["backlog"] == 0
    assert sum(shown["checked_per_minute"].values()) == len(load)  # every change checked once
    assert shown["reasons"] == {
        REJECTION_REASONS[code]: n for code, n in expected["reasons"].items()
    }
    assert shown["reasons"] == {"Name does not match the register": rejected}
    names = dict(wards_of(PROVINCE))
    assert shown["wards"] == {names.get(code, code): n for code, n in expected["wards"].items()}
    assert sum(shown["wards"].values()) == len(bodies) - rejected
    assert shown["notices"] == expected["notices"]


def _settled(system: RunningSystem, children: int) -> dict[str, Any]:
    """Wait until every application is checked and every notice settled; the real counts."""
    rows = "FROM applications WHERE round_id = '2027-grade_1'"
    wait_for(
        lambda: (
            system.count("registration", f"SELECT count(*) {rows}") == children
            and system.count("registration", f"SELECT count(*) {rows} AND status = 'received'") == 0
        ),
        timeout=180,
        what="every application stored and checked",
    )

    def sends() -> tuple[int, int, int]:
        texts = system.sms_outbox.read_text().splitlines() if system.sms_outbox.exists() else []
        sending = "SELECT count(*) FROM deliveries WHERE status IN ('sending', 'deferred')"
        return (
            len(list(system.maildir.glob("*.eml"))),
            len(texts),
            system.count("notification", sending),
        )

    wait_for(lambda: sends()[0] >= children and sends()[2] == 0, timeout=180, what="the notices")
    while True:  # until two reads 3 s apart agree
        first = sends()
        time.sleep(3)
        if sends() == first:
            break
    mails, texts, _ = first
    statuses = _grouped(system, f"SELECT status, count(*) {rows} GROUP BY status")
    wards = _grouped(
        system,
        f"SELECT ward_code, count(*) {rows} AND ward_code IS NOT NULL"
        " AND status NOT IN ('withdrawn', 'refused') GROUP BY ward_code",
    )
    reasons = _grouped(
        system,
        "SELECT r->>'code', count(DISTINCT reference) FROM applications,"
        " json_array_elements(rejection_reasons) AS r"
        " WHERE round_id = '2027-grade_1' AND status = 'rejected' GROUP BY 1",
    )
    failed = {
        channel: system.count(
            "notification",
            f"SELECT count(*) FROM deliveries WHERE channel = '{channel}' AND status = 'failed'",
        )
        for channel in ("email", "sms")
    }
    return {
        "applications": sum(statuses.values()),
        "statuses": statuses,
        "wards": wards,
        "reasons": reasons,
        "notices": {
            "email": {"sent": mails, "failed": failed["email"], "uncertain": 0},
            "sms": {"sent": texts, "failed": failed["sms"], "uncertain": 0},
        },
    }


def _grouped(system: RunningSystem, sql: str) -> dict[str, int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(system.databases["registration"])
    try:
        with engine.connect() as connection:
            return {str(key): int(n) for key, n in connection.execute(text(sql))}
    finally:
        engine.dispose()
