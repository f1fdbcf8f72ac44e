"""The whole system as separate processes for the end-to-end tests: tests/support/system.py
starts it (three `nameko run` services, the gunicorn gateway, the outside world's fakes) on
the real RabbitMQ (own vhost) and PostgreSQL (one fresh database per service); the small
demo city's schools and register are loaded first. Nothing inside the system is faked."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.system import TEST_SETTINGS, running_system
from tests.support.system import RunningSystem as System
from tools.demo_city import build_city

__all__ = ["FIGURES", "System"]


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small demo city's files."""
    directory = tmp_path_factory.mktemp("city")
    build_city(directory, "small", 2027, 2027)
    return directory


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, city: Path
) -> Iterator[System]:
    """Start everything, wait until `/readyz` says so, stop everything afterwards.

    A module's `SYSTEM_ENV` (a dict) adds to or overrides the settings every process gets;
    its `SYSTEM_OPTIONS` (a dict) are `running_system`'s options, e.g. `demo_rounds=False`
    for a city without rounds, `sms=True` for the SMS provider fake."""
    env = TEST_SETTINGS | getattr(request.module, "SYSTEM_ENV", {})
    options = getattr(request.module, "SYSTEM_OPTIONS", {})
    workdir = tmp_path_factory.mktemp("system")
    with running_system(workdir, city=city, extra_env=env, **options) as running:
        yield running


@pytest.fixture(scope="module")
def sms(system: System) -> Callable[[], Any]:
    """What the SMS provider fake has accepted so far (`{"messages": [...]}`), for a module
    whose system runs with it (`SYSTEM_OPTIONS = {"sms": True}`)."""
    return lambda: requests.get(f"{system.sms_url}/messages", timeout=5).json()


# Figures a test reports (not asserts), printed at the end of the run's summary.
FIGURES: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the figures the end-to-end tests reported."""
    for line in FIGURES:
        terminalreporter.write_line(line)
