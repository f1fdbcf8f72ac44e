"""Counting what a transaction did only once it is committed.

A handler's work may roll back (and be retried); a counter bumped before the commit would
then count it twice, or count what never happened. `count_on_commit` holds the increments on
the session and applies them after its next commit; a rollback drops them.
"""

from __future__ import annotations

from collections import Counter as TypeCounter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from prometheus_client import Counter
from sqlalchemy import event
from sqlalchemy.orm import Session

from shared.metrics.series import EVENTS_COMMITTED

PENDING = "tuyensinh.metrics_pending"
_LISTENING = "tuyensinh.metrics_listening"

# Per source service: turns a batch of committed events (and how many of each type there
# are) into the increments `(counter, labels, n)` of its own series.
Increments = Iterable[tuple[Counter, dict[str, str], int]]
EventCounter = Callable[[Sequence[Mapping[str, Any]], Mapping[str, int]], Increments]
_event_counters: dict[str, EventCounter] = {}


def count_events_as(source: str, counter: EventCounter) -> None:
    """Have `source`'s committed events also counted by `counter` (a service's own series)."""
    _event_counters[source] = counter


def on_commit(session: Session, record: Callable[[], None]) -> None:
    """Call `record` (which updates a series) when `session` next commits; never if it rolls
    back instead."""
    if not session.info.get(_LISTENING):
        session.info[_LISTENING] = True
        event.listen(session, "after_commit", _apply)
        event.listen(session, "after_transaction_end", _drop)
    session.info.setdefault(PENDING, []).append(record)


def count_on_commit(
    session: Session, counter: Counter, labels: Mapping[str, str], n: float = 1
) -> None:
    """Add `n` to `counter` (with `labels`) when `session` next commits."""
    child = counter.labels(**labels) if labels else counter
    on_commit(session, lambda: child.inc(n))


def count_events(session: Session, source: str, envelopes: Iterable[Mapping[str, Any]]) -> None:
    """Count events staged in the outbox, once committed (called by `stage_event(s)`)."""
    # Tallied first: a round's publication stages a quarter of a million events at once.
    batch = envelopes if isinstance(envelopes, Sequence) else list(envelopes)
    types = TypeCounter(envelope["type"] for envelope in batch)
    for kind, n in types.items():
        count_on_commit(session, EVENTS_COMMITTED, {"source": source, "type": kind}, n)
    extra = _event_counters.get(source)
    if extra is not None:
        for counter, labels, n in extra(batch, types):
            count_on_commit(session, counter, labels, n)


def _apply(session: Session) -> None:
    for record in session.info.pop(PENDING, []):
        record()


def _drop(session: Session, transaction: Any) -> None:
    # After a commit `_apply` has already taken them: what is left here was rolled back.
    if transaction.parent is None:
        session.info.pop(PENDING, None)
