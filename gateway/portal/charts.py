"""The figures behind the department's charts, computed on the server and drawn as inline SVG
by templates/_charts.html (no chart library, nothing loaded from elsewhere)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

MAX_BARS = 40  # beyond this many schools, a histogram of fill rates says more than bars


def bars(values: Iterable[tuple[str, float]], scale: float | None = None) -> list[dict[str, Any]]:
    """Rows of a horizontal bar chart: label, value, and width as a share of the largest."""
    rows = list(values)
    top = scale if scale is not None else max((v for _, v in rows), default=0.0)
    return [
        {"label": label, "value": value, "width": (value / top) if top else 0.0}
        for label, value in rows
    ]


def shares(statistics: dict[str, Any]) -> list[dict[str, Any]]:
    """First choice, top three and unplaced, each as a share of the applicants."""
    applicants = int(statistics.get("applicants") or 0)
    unplaced = int(statistics.get("unplaced") or 0) / applicants if applicants else 0.0
    return bars(
        [
            ("first_choice", float(statistics.get("first_choice_share") or 0.0)),
            ("top3", float(statistics.get("top3_share") or 0.0)),
            ("unplaced", unplaced),
        ],
        scale=1.0,
    )


def fill_rates(statistics: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """Per-school fill rates as bars (fullest first), or as a histogram for a big city."""
    rates = sorted((statistics.get("fill_rate") or {}).items(), key=lambda kv: (-kv[1], kv[0]))
    if len(rates) <= MAX_BARS:
        labelled = [(f"{names.get(code, code)} ({code})", rate) for code, rate in rates]
        return {"kind": "bars", "rows": bars(labelled, scale=max(1.0, *(r for _, r in rates)))}
    buckets = Counter(min(int(rate * 10), 10) for _, rate in rates)
    labels = [f"{b * 10}–{b * 10 + 9}%" if b < 10 else "100%" for b in range(11)]
    return {"kind": "histogram", "rows": bars((labels[b], buckets[b]) for b in range(11))}


def per_hour(hours: list[list[Any]]) -> dict[str, Any] | None:
    """Columns of applications per hour (`[[hour start, n], ...]` from the round's stats):
    each with its hour, count and height as a share of the busiest, plus the busiest hour."""
    if not hours:
        return None
    counts = [(str(start), int(n)) for start, n in hours]
    top = max(n for _, n in counts) or 1
    columns = [{"hour": start, "value": n, "height": n / top} for start, n in counts]
    peak = counts.index(max(counts, key=lambda hour: hour[1]))
    return {"columns": columns, "peak": columns[peak], "total": sum(n for _, n in counts)}


def unplaced_by_ward(statistics: dict[str, Any], names: dict[str, str]) -> list[dict[str, Any]]:
    """Children left without a seat, counted by residence ward (the preview's statistics)."""
    counts = statistics.get("unplaced_by_ward") or {}
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_BARS]
    return bars((names.get(code, code), float(n)) for code, n in ranked)
