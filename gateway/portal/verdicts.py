"""The results export of an allocated round and the independent verifier's verdict on it,
each fetched or computed once per allocation and kept for a few minutes."""

from __future__ import annotations

import io
import threading
from typing import Any

from cachetools import TTLCache

from gateway.auth.passwords import offload
from gateway.portal import client

_exports: TTLCache[tuple[str, str], str] = TTLCache(maxsize=8, ttl=300)
_verdicts: TTLCache[tuple[str, str], dict[str, Any]] = TTLCache(maxsize=8, ttl=300)
_lock = threading.Lock()


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
    # The verifier is the independent check a third party runs on the published file.
    from services.allocation.engine.export import verify_export

    report = offload(verify_export, io.StringIO(export))
    verdict = {
        "ok": report.ok,
        "applicants": report.applicants,
        "matching": report.applicants - report.mismatches,
        "lottery_mismatches": report.lottery_mismatches,
        "blocking_pairs": report.blocking_pairs,
        "over_capacity": list(report.over_capacity),
    }
    with _lock:
        _verdicts[key] = verdict
    return verdict
