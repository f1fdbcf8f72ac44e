"""The results export of an allocated round and the independent verifier's verdict on it,
each fetched or computed once per allocation and kept for a few minutes.

The verdict is the one a third party gets: the portal runs `python -m tools.verify_allocation`
on the export it downloaded through the API, in a process of its own. So the gateway imports
no service, and a city-sized recomputation holds no gateway worker's interpreter.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from typing import Any

from cachetools import TTLCache

from gateway.portal import client

_exports: TTLCache[tuple[str, str], str] = TTLCache(maxsize=8, ttl=300)
_verdicts: TTLCache[tuple[str, str], dict[str, Any]] = TTLCache(maxsize=8, ttl=300)
_lock = threading.Lock()
VERIFIER = (sys.executable, "-m", "tools.verify_allocation", "-", "--json")
VERIFIER_TIMEOUT_SECONDS = 600


def _key(round_: dict[str, Any]) -> tuple[str, str]:
    # A new allocation (or publication) of the round is a new export.
    return round_["round_id"], f"{round_.get('allocated_at')}|{round_.get('published_at')}"


def export_of(round_: dict[str, Any]) -> str | None:
    """The round's results export through the API (as the signed-in department), or None."""
    key = _key(round_)
    with _lock:
        if key in _exports:
            return _exports[key]
    answer = client.as_user("GET", f"/api/v1/rounds/{round_['round_id']}/results.csv")
    if not answer.ok:
        return None
    text = answer.data.decode("utf-8")
    with _lock:
        _exports[key] = text
    return text


def verdict_of(round_: dict[str, Any]) -> dict[str, Any] | None:
    """Recompute the round from its export alone (`python -m tools.verify_allocation`'s check):
    lottery numbers, every result, blocking pairs, capacities."""
    key = _key(round_)
    with _lock:
        if key in _verdicts:
            return _verdicts[key]
    export = export_of(round_)
    if export is None:
        return None
    report = _verify(export)
    verdict = {
        "ok": report["ok"],
        "applicants": report["applicants"],
        "matching": report["applicants"] - report["mismatches"],
        "lottery_mismatches": report["lottery_mismatches"],
        "blocking_pairs": report["blocking_pairs"],
        "over_capacity": list(report["over_capacity"]),
    }
    with _lock:
        _verdicts[key] = verdict
    return verdict


def _verify(export: str) -> dict[str, Any]:
    """The verifier's report on `export` (tools/verify_allocation.py, `--json`)."""
    done = subprocess.run(
        VERIFIER,
        input=export.encode("utf-8"),
        capture_output=True,
        timeout=VERIFIER_TIMEOUT_SECONDS,
        check=False,  # exit code 1 is a MISMATCH verdict, reported like a MATCH
    )
    try:
        report: dict[str, Any] = json.loads(done.stdout)
    except ValueError:
        raise RuntimeError(f"the verifier gave no verdict: {done.stdout[-500:]!r}") from None
    return report
