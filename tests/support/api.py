"""Talking to a running system's gateway as its users do, for the end-to-end tests: log in,
GET and POST as someone, wait for what the system does in the background, and the demo
city's sample forms."""

from __future__ import annotations

import csv
import json
from typing import Any

import requests

from tests.support.accounts import bearer, credentials, make_account
from tests.support.system import RunningSystem
from tests.support.waiting import wait_for


def log_in(system: RunningSystem, role: str, **account: Any) -> dict[str, str]:
    """A new account of `role`, logged in through the gateway: its Authorization header."""
    db = system.databases["gateway"]
    body = credentials(db, make_account(db, role, **account))
    answer = requests.post(system.api("/api/v1/auth/token"), json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    return bearer(answer.json()["access_token"])


def post(
    system: RunningSystem, path: str, who: dict[str, str], body: Any = None
) -> requests.Response:
    """POST to the gateway as `who`."""
    return post_to(system.url, path, who, body)


def post_to(url: str, path: str, who: dict[str, str] | None, body: Any) -> requests.Response:
    """POST to the gateway (or one replica of it) at `url` as `who`."""
    return requests.post(f"{url}{path}", json=body, headers=who, timeout=60)


def get(system: RunningSystem, path: str, who: dict[str, str] | None = None) -> requests.Response:
    """GET from the gateway as `who`."""
    return requests.get(system.api(path), headers=who, timeout=60)


def until(system: RunningSystem, probe: Any, what: str, timeout: float = 120) -> Any:
    """`wait_for`, with every process's log in the failure."""
    try:
        return wait_for(probe, timeout=timeout, interval=0.3, what=what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{system.logs()}") from exc


def status_of(system: RunningSystem, parent: dict[str, str], reference: str) -> str | None:
    """The application's status as its parent sees it (None while it answers otherwise)."""
    answer = get(system, f"/api/v1/applications/{reference}", parent)
    return answer.json()["status"] if answer.status_code == 200 else None


def sample_forms(system: RunningSystem) -> list[dict[str, Any]]:
    """The demo city's sample applications (some with mistakes, as families make them)."""
    with open(system.city / "applications.jsonl", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def school(system: RunningSystem, level: str) -> str:
    """The code of the city's first school of `level`."""
    with open(system.city / "schools.csv", encoding="utf-8") as rows:
        return next(row["code"] for row in csv.DictReader(rows) if row["level"] == level)
