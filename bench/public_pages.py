"""Public pages through HAProxy and its cache, beside `/healthz` (part of bench.cluster_intake).

The home page, the catchment page and the catchment look-up, asked without cookies or
credentials, come from HAProxy's cache for `PUBLIC_CACHE_SECONDS` (one request in that time
reaches a gateway); with a cookie (here `lang=vi`, as a returning visitor has) they go to a
gateway every time. `/healthz` is never cached: a gateway's cheapest answer, the yardstick.
"""

from __future__ import annotations

import csv
import itertools
from dataclasses import dataclass
from pathlib import Path

from bench.loadgen import LoadResult, closed_loop, run
from bench.report import table
from bench.tiers import TierMeter, per_request

CONCURRENCY = 32
FRONT = ("HAProxy", "gateway")


@dataclass
class Page:
    """One measured row: what was asked, how, and what it cost each tier."""

    label: str
    result: LoadResult
    cpu: dict[str, float]


def ward_of(city: Path) -> str:
    """The code of the city's first ward (one every level has schools for)."""
    with open(city / "wards.csv", encoding="utf-8") as handle:
        return str(next(csv.DictReader(handle))["code"])


def measure(
    front: str, city: Path, seconds: float, meter: TierMeter, status: tuple[str, dict[str, str]]
) -> list[Page]:
    """Closed-loop GETs through HAProxy at `front`, one path after the other; `status`: the
    path of one application and the Authorization header of its parent (a status poll)."""
    ward = ward_of(city)
    lookup = f"ward={ward}&level=grade_1"
    cookie = {"Cookie": "lang=vi"}
    plan = [
        ("`/healthz` (never cached)", "/healthz", {}),
        ("home page `/`, from HAProxy's cache", "/", {}),
        ("home page `/`, with a cookie (every one to a gateway)", "/", cookie),
        ("catchment page `/lookup?…`, from the cache", f"/lookup?{lookup}", {}),
        ("catchment page `/lookup?…`, with a cookie", f"/lookup?{lookup}", cookie),
        ("look-up `/api/v1/catchment?…`, from the cache", f"/api/v1/catchment?{lookup}", {}),
        ("status poll `/api/v1/applications/<ref>`, signed in", *status),
    ]
    pages = []
    for label, path, headers in plan:
        url = f"{front}{path}"
        load = closed_loop(
            url, itertools.repeat(b""), concurrency=CONCURRENCY, duration=1, headers=headers
        )
        run(load)  # warm-up (and the cache filled)
        meter.start()
        load = closed_loop(
            url, itertools.repeat(b""), concurrency=CONCURRENCY, duration=seconds, headers=headers
        )
        result = run(load)
        pages.append(Page(label, result, per_request(meter.stop(), result.ok)))
    return pages


def section(pages: list[Page]) -> str:
    """The rows for BENCHMARKS.md."""
    rows = [
        [
            page.label,
            f"{page.result.throughput:,.0f}/s",
            " / ".join(f"{page.result.percentile(p):.0f}" for p in (50, 99)) + " ms",
            f"{page.cpu['HAProxy']:.2f} ms",
            f"{page.cpu['gateway']:.2f} ms",
            f"{sum(ms for tier, ms in page.cpu.items() if tier not in FRONT):.2f} ms",
            ", ".join(f"{s}: {n}" for s, n in sorted(page.result.statuses.items())),
        ]
        for page in pages
    ]
    header = ["GET through HAProxy", "requests/s", "p50 / p99", "HAProxy CPU", "gateway CPU"]
    header += ["services + RabbitMQ CPU"]
    return table([*header, "answers"], rows)
