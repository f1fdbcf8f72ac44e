"""Cost and abuse rules, as plain functions over timestamps: the SMS day and OTP rate limits."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

# The city's clock: Vietnam keeps UTC+7 all year (no daylight saving), so a fixed offset is
# exact. "Per day" for the SMS cap means the parent's calendar day, as invoices count it.
CITY_TIME = timezone(timedelta(hours=7), "ICT")
DAY = timedelta(days=1)

# Delivery statuses. A row in COUNTED costs (or may have cost) an SMS: it counts to the cap.
SENDING, SENT, DEFERRED, FAILED = "sending", "sent", "deferred", "failed"
SUPPRESSED_CAP, UNCERTAIN = "suppressed_cap", "uncertain"
COUNTED = (SENDING, SENT, DEFERRED, UNCERTAIN)


@dataclass(frozen=True)
class OtpLimits:
    """At most `per_window` codes per `window`, and `per_day` per rolling 24 hours, per phone."""

    per_window: int = 3
    window: timedelta = timedelta(minutes=10)
    per_day: int = 10


def city_day_start(now: datetime) -> datetime:
    """Midnight (city time) of the day `now` falls in, as an aware datetime."""
    local = now.astimezone(CITY_TIME)
    return datetime.combine(local.date(), time(0), tzinfo=CITY_TIME)


def local_time(moment: datetime) -> str:
    """A moment as parents read it, in city time: `17:00 20/07/2027`."""
    return moment.astimezone(CITY_TIME).strftime("%H:%M %d/%m/%Y")


def otp_wait_seconds(previous: Sequence[datetime], now: datetime, limits: OtpLimits) -> int:
    """Seconds until another code may go to this phone; 0 means now.

    `previous` holds the times codes were sent to it in the last day (any order). Windows
    slide: a burst cannot straddle a boundary to get twice the allowance.
    """
    earlier = sorted(moment for moment in previous if moment > now - DAY)
    recent = [moment for moment in earlier if moment > now - limits.window]
    return max(
        _wait(recent, limits.per_window, limits.window, now),
        _wait(earlier, limits.per_day, DAY, now),
    )


def _wait(times: Sequence[datetime], limit: int, span: timedelta, now: datetime) -> int:
    if len(times) < limit:
        return 0
    # The send that must age out of the span before one more fits under the limit.
    blocking = times[len(times) - limit]
    return max(1, math.ceil((blocking + span - now).total_seconds()))
