"""Running one of the end-to-end tests' browser scripts (`tests.e2e.<name>`, see
tests/support/browser.py) in a process of its own, from the pytest process, which eventlet has
monkey-patched and where Playwright's synchronous API would never wake."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.processes import BIN, ROOT

TAIL = 6000  # characters of each stream an assertion's message shows


@dataclass(frozen=True)
class Played:
    """What a browser script did: its exit code, what it printed, and both streams' tails."""

    returncode: int
    stdout: str
    output: str


def play(script: str, config: dict[str, Any], config_path: Path, timeout: float) -> Played:
    """Write `config` as JSON to `config_path` and run `python -m tests.e2e.<script>` on it;
    AssertionError, with what it printed, if it has not finished in `timeout` seconds."""
    config_path.write_text(json.dumps(config), encoding="utf-8")
    command = [str(BIN / "python"), "-m", f"tests.e2e.{script}", str(config_path)]
    try:
        played = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"{script} did not finish in {timeout:.0f}s: {exc.stdout}") from exc
    output = f"{played.stdout[-TAIL:]}\n{played.stderr[-TAIL:]}"
    return Played(played.returncode, played.stdout, output)
