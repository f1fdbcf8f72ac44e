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
from typing import Any, Generic, TypeVar

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
    callers waiting together; `__call__(item)` returns that item's result or raises.

    Up to `leaders` batches are written at once: while one waits for the database's commit,
    the next can be on its way (PostgreSQL then flushes their commits together too).
    """

    def __init__(
        self, apply: Callable[[list[T]], Sequence[R]], max_batch: int = 500, leaders: int = 1
    ) -> None:
        self._apply = apply
        self._max_batch = max_batch
        self._max_leaders = leaders
        self._pending: list[_Slot[T, R]] = []
        self._lock = threading.Lock()
        self._leading = 0  # batches being written now

    def __call__(self, item: T) -> R:
        """Have `item` written (with whatever else is waiting); its result once committed."""
        slot: _Slot[T, R] = _Slot(item)
        with self._lock:
            lead = self._leading < self._max_leaders
            if lead:
                self._leading += 1
            else:
                self._pending.append(slot)
        if not lead:
            slot.done.wait()
            if not slot.lead:
                return slot.outcome()
        self._lead(slot)
        return slot.outcome()

    def _lead(self, own: _Slot[T, R]) -> None:
        with self._lock:  # the leader's own item, then whoever waits longest
            batch = [own, *self._pending[: self._max_batch - 1]]
            del self._pending[: self._max_batch - 1]
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
                successor = self._pending.pop(0) if self._pending else None
                if successor is None:
                    self._leading -= 1
                else:  # the next in line leads the next batch
                    successor.lead = True
            if successor is not None:
                successor.done.set()
            for slot in batch:
                slot.done.set()


class SharedTransaction:
    """One group commit for writes of several kinds: the claim of a submission and the audit
    entry of another one arriving together share a transaction, not one each.

    `register(kind, write)` names a writer, `write(connection, items)` returning one result
    per item; `__call__(kind, item)` waits for the commit holding the item and returns its
    result. A failure fails every caller of that transaction, whatever its kind.
    """

    def __init__(self, begin: Callable[[], Any], max_batch: int = 500, leaders: int = 4) -> None:
        # A context manager giving one connection: in one transaction, or in autocommit
        # where each writer writes its rows in one statement (the gateway's writers do).
        self._begin = begin
        self._writers: dict[str, Callable[[Any, list[Any]], Sequence[Any]]] = {}
        self._group: GroupCommit[tuple[str, Any], Any] = GroupCommit(
            self._apply, max_batch, leaders
        )

    def register(self, kind: str, write: Callable[[Any, list[Any]], Sequence[Any]]) -> None:
        """Make `kind` writable."""
        self._writers[kind] = write

    def __call__(self, kind: str, item: Any) -> Any:
        """Have `item` written by the writer of `kind`; its result once committed."""
        return self._group((kind, item))

    def _apply(self, batch: list[tuple[str, Any]]) -> list[Any]:
        places: dict[str, list[int]] = {}
        for index, (kind, _) in enumerate(batch):
            places.setdefault(kind, []).append(index)
        results: list[Any] = [None] * len(batch)
        with self._begin() as connection:
            for kind, indexes in places.items():
                written = self._writers[kind](connection, [batch[i][1] for i in indexes])
                for index, result in zip(indexes, written, strict=True):
                    results[index] = result
        return results
