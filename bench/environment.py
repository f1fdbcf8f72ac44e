"""Where and with what the figures were measured: CPU, cores, RAM, load, and versions."""

from __future__ import annotations

import os
import platform
import time
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from sqlalchemy import create_engine, text

from bench.report import table
from tests.support.broker import AUTH, MANAGEMENT
from tests.support.databases import ADMIN_URI

LIBRARIES = (
    "nameko",
    "kombu",
    "amqp",
    "eventlet",
    "gevent",
    "gunicorn",
    "flask",
    "flask-smorest",
    "marshmallow",
    "sqlalchemy",
    "psycopg2-binary",
)


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def memory_gib() -> float:
    """Installed RAM in GiB."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def load_average() -> str:
    """The 1, 5 and 15-minute load averages, as `uptime` prints them."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def _postgres() -> str:
    engine = create_engine(ADMIN_URI)
    try:
        with engine.connect() as connection:
            return str(connection.execute(text("SHOW server_version")).scalar_one())
    finally:
        engine.dispose()


def _rabbitmq() -> str:
    overview = requests.get(f"{MANAGEMENT}/api/overview", auth=AUTH, timeout=10).json()
    return f"{overview['rabbitmq_version']} (Erlang {overview['erlang_version']})"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def describe(
    load_before: str, load_after: str, timings: list[tuple[str, float]], failed: list[str]
) -> str:
    """The body of the `machine` section of BENCHMARKS.md."""
    rows = [
        ["CPU", cpu_model()],
        ["cores", str(os.cpu_count())],
        ["RAM", f"{memory_gib():.1f} GiB"],
        ["OS", f"{platform.system()} {platform.release()}"],
        ["Python", platform.python_version()],
        ["PostgreSQL", _postgres()],
        ["RabbitMQ", _rabbitmq()],
        ["libraries", ", ".join(f"{name} {_version(name)}" for name in LIBRARIES)],
        ["load average (1, 5, 15 min) before the run", load_before],
        ["load average after the run", load_after],
    ]
    body = table(["", ""], rows)
    body += "\n\n" + table(
        ["benchmark", "wall time"],
        [
            [f"`python -m {name}`", f"{seconds / 60:.1f} min" + (" (failed)" * (name in failed))]
            for name, seconds in timings
        ]
        + [["all (this run)", f"{sum(s for _, s in timings) / 60:.1f} min"]],
    )
    body += (
        "\n\nThe load averages above are the machine's, the benchmarks' own work included (2 means"
        " both cores busy); other work on a shared machine would show there too. Absolute figures"
        " move with that load; each figure's baseline was measured in the same run, on the same"
        " machine, so the ratios stay meaningful."
    )
    return body


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, its own and its reaped children's.

    On a shared machine the wall-clock rate moves with everyone else's load; the CPU a
    process spent per unit of work does much less, so benchmarks report both.
    """
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return (utime + stime + cutime + cstime) / os.sysconf("SC_CLK_TCK")


def workers_of(pid: int) -> list[int]:
    """The child processes of `pid` (gunicorn's workers of its master)."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(child) for child in (task / "children").read_text().split()]
    return children


class CpuMeter:
    """CPU seconds a set of processes spends between `start()` and `stop()`."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.seconds = 0.0

    def start(self) -> None:
        """Note where the processes are now."""
        self.seconds = -sum(cpu_seconds(pid) for pid in self.pids)

    def stop(self) -> float:
        """CPU seconds spent since `start()`."""
        self.seconds += sum(cpu_seconds(pid) for pid in self.pids)
        return self.seconds


def queued_messages(system: Any) -> int:
    """Messages ready or unacknowledged in the running system's vhost (dead letters left
    out): 0 once every service has worked through what it was sent."""
    vhost = quote(system.amqp_uri.rsplit("/", 1)[1], safe="")
    answer = requests.get(
        f"{system.management}/api/queues/{vhost}",
        params={"columns": "name,messages", "disable_stats": "false"},
        auth=AUTH,
        timeout=10,
    )
    answer.raise_for_status()
    return sum(
        int(q.get("messages") or 0) for q in answer.json() if not q["name"].endswith(".dead")
    )


def wait_until_quiet(system: Any, timeout: float) -> None:
    """Wait (up to `timeout` seconds) until no message is queued in the system's vhost."""
    deadline = time.monotonic() + timeout
    while queued_messages(system) > 0 and time.monotonic() < deadline:
        time.sleep(1)
