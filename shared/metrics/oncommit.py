"""Counting what a transaction did only once it is committed.

A handler's work may roll back (and be retried); a counter bumped before the commit would
then count it twice, or count what never happened. `count_on_commit` holds the increments on
the session and applies them after its next commit; a rollback drops them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from prometheus_client import Counter
from sqlalchemy import event
from sqlalchemy.orm import Session

from shared.metrics.series import EVENTS_COMMITTED

PENDING = "tuyensinh.metrics_pending"
_LISTENING = "tuyensinh.metrics_listening"

# Per source service: turns one committed event into the increments of its own series.
EventCounter = Callable[[Mapping[str, Any]], Iterable[tuple[Counter, dict[str, str]]]]
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
    extra = _event_counters.get(source)
    # Tallied first: a round's publication stages a quarter of a million events at once.
    tally: dict[tuple[Counter, tuple[tuple[str, str], ...]], int] = defaultdict(int)
    for envelope in envelopes:
        tally[(EVENTS_COMMITTED, (("source", source), ("type", envelope["type"])))] += 1
        if extra is not None:
            for counter, own in extra(envelope):
                tally[(counter, tuple(sorted(own.items())))] += 1
    for (counter, labels), n in tally.items():
        count_on_commit(session, counter, dict(labels), n)


def _apply(session: Session) -> None:
    for record in session.info.pop(PENDING, []):
        record()


def _drop(session: Session, transaction: Any) -> None:
    # After a commit `_apply` has already taken them: what is left here was rolled back.
    if transaction.parent is None:
        session.info.pop(PENDING, None)
