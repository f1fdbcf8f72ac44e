"""The rounds' windows, as every gateway worker knows them: "open" is a check of the clock.

A round's window (`opens_at`, `closes_at`) comes from the allocation service and changes
rarely: fixed dates are set in advance, and a manual close is scheduled WINDOW_NOTICE_SECONDS
ahead. So the worker keeps the list and decides locally, by its clock, with no call per
submission. Two rules keep that exact:

- the list is never trusted older than `max_age` seconds (below allocation's close notice):
  past it, the next submission reloads it, and if that fails it is refused with a 503
  (nothing saved) rather than judged on an old list;
- a round that is not open in the list is looked up again (at most once per `miss_age`), so a
  round opened a moment ago through the API is open for the next family, not 409 for seconds.

Past `ttl` (but within `max_age`) one caller reloads while the others go on with the list
they have: at the peak the services are busy, and no submission should wait on a refresh.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)


class WindowsUnknown(Exception):
    """The rounds' windows could not be loaded recently enough to judge a submission."""


class RoundWindows:
    """The rounds whose window is scheduled or running, refreshed as described above."""

    def __init__(
        self,
        load: Callable[[], list[dict[str, Any]]],
        ttl: float,
        max_age: float,
        miss_age: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load, self._ttl, self._max_age, self._miss_age = load, ttl, max_age, miss_age
        self._clock = clock
        self._rounds: dict[str, dict[str, Any]] = {}
        self._loaded_at = float("-inf")  # when the load that gave `_rounds` started
        self._loading = threading.Lock()

    def rounds(self) -> list[dict[str, Any]]:
        """Every round with a window, as loaded at most `max_age` seconds ago."""
        self._fresh_enough()
        return list(self._rounds.values())

    def accepting(self, round_id: str, at: datetime) -> dict[str, Any] | None:
        """The round if a submission stamped `at` is inside its window, else None."""
        self._fresh_enough()
        round_ = self._rounds.get(round_id)
        if round_ is None or not inside(round_, at):
            if self._clock() - self._loaded_at >= self._miss_age:
                self._reload(wait=True, older_than=self._miss_age)
                round_ = self._rounds.get(round_id)
        return round_ if round_ is not None and inside(round_, at) else None

    def _fresh_enough(self) -> None:
        age = self._clock() - self._loaded_at
        if age >= self._max_age:
            self._reload(wait=True, older_than=self._max_age)
            if self._clock() - self._loaded_at >= self._max_age:
                raise WindowsUnknown("the rounds could not be loaded")
        elif age >= self._ttl:
            self._reload(wait=False, older_than=self._ttl)

    def _reload(self, *, wait: bool, older_than: float) -> None:
        if not self._loading.acquire(blocking=wait):
            return  # another caller is reloading; the list in hand is young enough
        try:
            if self._clock() - self._loaded_at < older_than:
                return  # reloaded by whoever held the lock before us
            started = self._clock()
            rounds = self._load()
            self._rounds = {round_["round_id"]: round_ for round_ in rounds}
            self._loaded_at = started
        except Exception as exc:
            log.warning("could not reload the rounds' windows (%s)", type(exc).__name__)
        finally:
            self._loading.release()


def inside(round_: dict[str, Any], at: datetime) -> bool:
    """Whether `at` falls in the round's window `[opens_at, closes_at)`."""
    if round_.get("status") != "open":
        return False
    opens_at, closes_at = _instant(round_.get("opens_at")), _instant(round_.get("closes_at"))
    return (opens_at is None or opens_at <= at) and (closes_at is None or at < closes_at)


def _instant(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))
