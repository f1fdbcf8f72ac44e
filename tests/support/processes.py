"""Starting the real processes (gunicorn, nameko run, the SMTP sink) and stopping them."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


PR_SET_PDEATHSIG = 1


def _nice_session(nice: int) -> None:
    """With autogroup scheduling (Linux's default on desktops and these machines), a new
    session's processes share one CPU share among themselves, whatever their niceness: the
    group's own niceness is what counts against other sessions, so set that too."""
    try:
        Path("/proc/self/autogroup").write_text(str(nice))
    except OSError:
        pass  # no autogroup scheduling here: the process's own niceness is enough


def _child_setup(nice: int) -> Callable[[], None] | None:
    """What the child runs before exec: its niceness, and, on Linux when started from the
    main thread, SIGKILL when the process that started it dies, even by SIGKILL (a killed
    pytest would otherwise leave its services running). The death signal follows the
    starting *thread*, hence the main thread only."""
    die_with_parent = sys.platform.startswith("linux") and (
        threading.current_thread() is threading.main_thread()
    )
    if not nice and not die_with_parent:
        return None

    def setup() -> None:
        if nice:
            try:
                os.nice(nice)
                _nice_session(nice)
            except PermissionError:
                pass  # a negative niceness (ahead of the rest) needs root: run as is
        if die_with_parent:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)

    return setup


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_open(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:`port`."""
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


class Processes:
    """The processes one test module started, each logging to its own file."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self.metrics_ports: dict[str, int] = {}  # nameko process name -> its /metrics port
        log_dir.mkdir(parents=True, exist_ok=True)

    def start(
        self, name: str, args: list[str], env: dict[str, str], nice: int = 0
    ) -> subprocess.Popen[bytes]:
        """Start `args` from the repository root with `env` on top of ours, `nice`r than us."""
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - lives with the process
        process = subprocess.Popen(
            args,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_child_setup(nice),  # noqa: PLW1509 - one prctl call, no locks taken
        )
        self.running[name] = process
        return process

    def nameko(
        self, service: str, env: dict[str, str], name: str | None = None, nice: int = 0
    ) -> subprocess.Popen[bytes]:
        """`nameko run` one service with its own config file, as `name` (default: service).

        Unless `env` names one, the process gets a free metrics port (several systems, or
        instances, run side by side on one machine): `metrics_ports[name]`."""
        port_key = f"{service.upper()}_METRICS_PORT"
        env = {port_key: str(free_port()), **env}
        self.metrics_ports[name or service] = int(env[port_key])
        config = f"services/{service}/config.yml"
        module = f"services.{service}.service"
        args = [str(BIN / "nameko"), "run", "--config", config, module]
        return self.start(name or service, args, env, nice)

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        """Stop one process (SIGKILL if it does not stop within 10 s)."""
        process = self.running.pop(name)
        if process.poll() is None:
            os.killpg(process.pid, sig)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)

    def stop_all(self) -> None:
        """Stop everything this object started."""
        for name in list(self.running):
            self.stop(name)

    def log(self, name: str) -> str:
        """What a process wrote so far."""
        return (self.log_dir / f"{name}.log").read_text(errors="replace")
