"""The delivery ledger on its own, on PostgreSQL (one round trip per chunk) and on SQLite.

A chunk whose events had no rows when its batch began is claimed without the locked read; a
row a concurrent copy inserted since must still win, and the chunk's other sends go ahead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.notification.delivery import ledger, ledger_rows
from services.notification.models import Delivery, InboxMessage, NoticeTally
from services.notification.policy import DEFERRED, SENDING, SENT, UNCERTAIN
from services.notification.rendering.notices import Notice
from shared.db.engine import build_engine
from shared.db.migrate import upgrade


@pytest.fixture(params=["postgresql", "sqlite"])
def session(
    request: pytest.FixtureRequest, make_database: Callable[[str], str], tmp_path: Path
) -> Iterator[Session]:
    """A session on a migrated notification database of each kind."""
    if request.param == "postgresql":
        uri = make_database("notification")
    else:
        uri = f"sqlite:///{tmp_path / 'notification.db'}"
        upgrade("notification", uri)
    engine = build_engine(uri)
    with Session(engine) as session:
        yield session
    engine.dispose()


def notice(n: int) -> Notice:
    return Notice(f"event-{n}", "seat_offered", f"TSREF{n:05d}", "vi", {})


def inbox_row(n: int) -> dict[str, object]:
    return {
        "event_id": f"event-{n}",
        "reference": f"TSREF{n:05d}",
        "template": "seat_offered",
        "language": "vi",
        "subject": "Ghế",
        "body": "Con được nhận.",
        "created_at": datetime.now(UTC),
        "round_id": None,
    }


def statuses(session: Session, channel: str) -> dict[str, str]:
    rows = session.execute(
        select(Delivery.event_id, Delivery.status).where(Delivery.channel == channel)
    )
    return dict(rows.tuples().all())


def test_a_chunk_is_claimed_settled_and_counted(session: Session) -> None:
    plan = ledger.Plan("email", "smtp", "key")
    sends = [(notice(n), plan) for n in range(3)]
    before = ledger_rows.existing(session, [n.event_id for n, _ in sends])
    claimed = ledger.claim(session, sends, [inbox_row(n) for n in range(3)], rows_before=before)
    assert claimed == {"event-0", "event-1", "event-2"}
    assert set(statuses(session, "email").values()) == {SENDING}
    outcomes = [
        ledger.Outcome("event-0", SENT),
        ledger.Outcome("event-1", DEFERRED, "smtp_timeout"),
        ledger.Outcome("event-2", SENT),
    ]
    ledger.settle(session, "email", outcomes)
    assert statuses(session, "email") == {"event-0": SENT, "event-1": DEFERRED, "event-2": SENT}
    assert statuses(session, "inbox") == dict.fromkeys(["event-0", "event-1", "event-2"], SENT)
    assert session.scalar(select(func.count()).select_from(InboxMessage)) == 3
    counted = select(NoticeTally.status, func.sum(NoticeTally.n)).group_by(NoticeTally.status)
    tallies = session.execute(counted)
    assert dict(tallies.tuples().all()) == {SENT: 2, DEFERRED: 1}
    # The deferred send is taken over for another try (a second attempt), the others are done.
    again = ledger.claim(session, sends, rows_before=ledger_rows.existing(session, ["event-1"]))
    assert again == {"event-1"}
    attempts = session.scalar(select(Delivery.attempts).where(Delivery.event_id == "event-1"))
    assert attempts == 2


def test_a_row_a_concurrent_copy_inserted_after_the_batch_began_wins(session: Session) -> None:
    plan = ledger.Plan("email", "smtp", "key")
    sends = [(notice(n), plan) for n in range(3)]
    before = ledger_rows.existing(session, [n.event_id for n, _ in sends])
    assert before == {}
    session.commit()
    # Another worker's copy of event-1 claims it meanwhile (and is sending it now).
    copy = ledger.claim(session, [(notice(1), plan)], [inbox_row(1)])
    assert copy == {"event-1"}
    claimed = ledger.claim(session, sends, [inbox_row(n) for n in range(3)], rows_before=before)
    assert claimed == {"event-0", "event-2"}  # event-1 is never sent a second time
    assert statuses(session, "email")["event-1"] == UNCERTAIN
    assert session.scalar(select(func.count()).select_from(InboxMessage)) == 3
