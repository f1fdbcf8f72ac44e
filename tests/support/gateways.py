"""Extra gateway replicas a test or a chaos scenario starts beside the system's own."""

from __future__ import annotations

import requests

from tests.support.processes import BIN, Processes, free_port
from tests.support.waiting import wait_for


def start_lagging_gateway(processes: Processes, env: dict[str, str]) -> str:
    """A gateway replica, on its own port, that trusts its view of the rounds for ten
    minutes: as if it had not heard of a close (a misconfigured or cut-off replica). Its
    URL, once it answers."""
    port = free_port()
    lagging = {
        **env,
        "GATEWAY_BIND": f"127.0.0.1:{port}",
        "GATEWAY_WORKERS": "1",
        "ROUND_CACHE_SECONDS": "600",
        "ROUND_VIEW_MAX_SECONDS": "600",
    }
    config = ["-c", "gateway/gunicorn.conf.py", "gateway.app:create_app()"]
    processes.start("gateway-lagging", [str(BIN / "gunicorn"), *config], lagging)
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: _up(url), timeout=60, what="the lagging gateway")
    return url


def _up(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False
