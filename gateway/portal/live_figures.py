"""The figures of the department's live window page, from the API's running counts: every
minute of the last hour, the rates of the last few minutes, the backlog and when it drains,
and the bars of rejections, wards and notices (drawn by templates/_charts.html)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.portal.charts import MAX_BARS, bars
from gateway.portal.i18n import gettext, lazy

RATE_MINUTES = 5  # rates are the mean of the last five whole minutes
REJECTION_REASONS = {
    "not_in_register": lazy("Not in the population register"),
    "name_mismatch": lazy("Name does not match the register"),
    "birth_date_mismatch": lazy("Date of birth does not match the register"),
    "wrong_age_for_level": lazy("Wrong age for the level"),
    "empty": lazy("No school chosen"),
    "too_many": lazy("Too many schools chosen"),
    "duplicate": lazy("A school chosen twice"),
    "unknown_school": lazy("Unknown school code"),
    "wrong_level": lazy("School of another level"),
}
CHANNELS = ("email", "sms")


def minute_key(moment: datetime) -> str:
    """The key of the UTC minute a moment falls in (as registration counts them)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def per_minute(series: list[list[Any]], now: datetime, minutes: int = 60) -> dict[str, Any]:
    """Columns for each of the last `minutes` minutes up to now (0 where none), with the
    busiest, the total and the mean of the last `RATE_MINUTES` whole minutes."""
    counts = {str(key): int(n) for key, n in series}
    start = now.astimezone(UTC).replace(second=0, microsecond=0) - timedelta(minutes=minutes - 1)
    keys = [minute_key(start + timedelta(minutes=i)) for i in range(minutes)]
    values = [counts.get(key, 0) for key in keys]
    top = max(values) or 1
    columns = [
        {"hour": f"{key}:00+00:00", "value": n, "height": n / top}
        for key, n in zip(keys, values, strict=True)
    ]
    peak = columns[values.index(max(values))]
    whole = values[-1 - RATE_MINUTES : -1]  # the minute now running is not over yet
    return {
        "columns": columns,
        "peak": peak,
        "total": sum(values),
        "rate": sum(whole) / len(whole) if whole else 0.0,
    }


def backlog(applications: dict[str, Any], drained: float) -> dict[str, Any]:
    """Submissions waiting on the broker (every round's) plus stored ones not yet checked,
    and the minutes they take to drain at the recent rate (None: not draining)."""
    unverified = int(applications["statuses"].get("received", 0))
    queued = applications.get("queued")
    waiting = unverified + (queued or 0)
    minutes = waiting / drained if drained and waiting else (0.0 if not waiting else None)
    return {"queued": queued, "unverified": unverified, "waiting": waiting, "minutes": minutes}


def ranked(counts: dict[str, int], names: dict[str, Any]) -> list[dict[str, Any]]:
    """Bars of the largest counts (at most MAX_BARS), each named when a name is known."""
    order = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_BARS]
    return bars((str(names.get(code, code)), float(n)) for code, n in order)


def notices(counts: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    """Per channel: sent, failed (and uncertain, for an interrupted send), since the opening."""
    return [
        {
            "channel": channel,
            "sent": int(counts.get(channel, {}).get("sent", 0)),
            "failed": int(counts.get(channel, {}).get("failed", 0)),
            "uncertain": int(counts.get(channel, {}).get("uncertain", 0)),
        }
        for channel in CHANNELS
    ]


def reason_names() -> dict[str, str]:
    """The rejection reasons in the request's language."""
    return {code: gettext(text) for code, text in REJECTION_REASONS.items()}


def figures(live: dict[str, Any], wards: dict[str, str], now: datetime) -> dict[str, Any]:
    """Everything the page draws; a part is None while its service does not answer."""
    found: dict[str, Any] = {"applications": None, "notices": None}
    applications = live.get("applications")
    if applications is not None:
        submitted = per_minute(applications["submitted_per_minute"], now)
        checked = per_minute(applications["checked_per_minute"], now)
        found["applications"] = {
            "submitted": applications["submitted"],
            "statuses": applications["statuses"],
            "per_minute": submitted,
            "checked": checked,
            "backlog": backlog(applications, checked["rate"]),
            "reasons": ranked(applications["reasons"], reason_names()),
            "wards": ranked(applications["wards"], wards),
            "ward_count": len(applications["wards"]),
            "in_wards": sum(applications["wards"].values()),
        }
    if live.get("notices") is not None:
        found["notices"] = notices(live["notices"])
    return found
