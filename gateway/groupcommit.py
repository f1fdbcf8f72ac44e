"""Group commit: requests that need the same small write at the same moment share one
transaction, and each still waits until its own row is committed.

At the opening-morning peak hundreds of submissions a second each claim a child and write
an audit entry. One transaction each costs a pool checkout, BEGIN, INSERT and COMMIT per
request; together they are most of the gateway's database time. Here the first caller leads:
it writes every request that is waiting (up to `max_batch`) in one transaction, hands each
its result, and passes the lead to the next waiting caller. A lone request is written at
once, so nothing waits for a timer. No caller returns before the commit that holds its row.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class _Slot(Generic[T, R]):
    __slots__ = ("item", "done", "result", "error", "lead")

    def __init__(self, item: T) -> None:
        self.item = item
        self.done = threading.Event()  # green under gunicorn's gevent workers
        self.result: R | None = None
        self.error: BaseException | None = None
        self.lead = False

    def outcome(self) -> R:
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]


class GroupCommit(Generic[T, R]):
    """Calls `apply(items)` (one transaction, one result per item, in order) for the
    callers waiting together; `__call__(item)` returns that item's result or raises."""

    def __init__(self, apply: Callable[[list[T]], Sequence[R]], max_batch: int = 500) -> None:
        self._apply = apply
        self._max_batch = max_batch
        self._pending: list[_Slot[T, R]] = []
        self._lock = threading.Lock()
        self._leading = False

    def __call__(self, item: T) -> R:
        """Have `item` written (with whatever else is waiting); its result once committed."""
        slot: _Slot[T, R] = _Slot(item)
        with self._lock:
            self._pending.append(slot)
            lead = not self._leading
            self._leading = True
        if not lead:
            slot.done.wait()
            if not slot.lead:
                return slot.outcome()
        # The leader's slot is always first in line, so it is in the batch it writes.
        self._lead()
        return slot.outcome()

    def _lead(self) -> None:
        with self._lock:
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
        try:
            results = self._apply([slot.item for slot in batch])
            for slot, result in zip(batch, results, strict=True):
                slot.result = result
        except BaseException as exc:  # every caller of the batch sees why it failed
            for slot in batch:
                slot.error = exc
            if not isinstance(exc, Exception):
                raise
        finally:
            with self._lock:
                if self._pending:  # the next in line leads the next batch
                    self._pending[0].lead = True
                    self._pending[0].done.set()
                else:
                    self._leading = False
            for slot in batch:
                slot.done.set()
