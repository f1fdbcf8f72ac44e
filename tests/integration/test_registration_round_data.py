"""Registration's per-round data on both databases it runs on (PostgreSQL, and the SQLite file
of `make run`), migrated with its own Alembic scripts: the applications per hour of a round's
window, and a practice round forgotten when it is discarded."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.registration import store
from services.registration.models import Application
from shared.db.engine import build_engine
from shared.db.migrate import upgrade
from tests.support.databases import create_database, drop_database

pytestmark = pytest.mark.integration

PRACTICE, REAL = "practice-2027-grade_1", "2027-grade_1"
OPENING = datetime(2027, 6, 1, 1, 0, tzinfo=UTC)  # 08:00 in Hanoi


@pytest.fixture(params=["postgresql", "sqlite"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated registration database of each kind."""
    if request.param == "sqlite":
        uri = f"sqlite:///{tmp_path / 'registration.db'}"
        upgrade("registration", uri)
        yield uri
        return
    uri = create_database("registration")
    try:
        yield uri
    finally:
        drop_database(uri)


def test_applications_are_counted_in_the_hour_they_were_first_submitted(database: str) -> None:
    engine = build_engine(database)
    minutes = [0, 5, 59, 60, 61, 185]  # three in the first hour, two in the next, one later
    with Session(engine) as session, session.begin():
        _open(session, REAL, practice=False)
        for i, minute in enumerate(minutes):
            session.add(_application(REAL, i, OPENING + timedelta(minutes=minute)))
        session.add(_application("2027-grade_6", 99, OPENING))  # another round's

    with Session(engine) as session:
        series = store.applications_per_hour(session, REAL)
    engine.dispose()

    assert series == [
        (OPENING, 3),
        (OPENING + timedelta(hours=1), 2),
        (OPENING + timedelta(hours=2), 0),
        (OPENING + timedelta(hours=3), 1),
    ]


def test_discarding_a_practice_round_forgets_it_and_leaves_the_real_one(database: str) -> None:
    engine = build_engine(database)
    with Session(engine) as session, session.begin():
        _open(session, PRACTICE, practice=True)
        _open(session, REAL, practice=False)
        session.add_all(_application(PRACTICE, i, OPENING) for i in range(3))
        session.add(_application(REAL, 7, OPENING))

    with Session(engine) as session, session.begin():
        assert store.is_practice(session, PRACTICE) and not store.is_practice(session, REAL)
        assert store.discard_round(session, PRACTICE) == 3
    with Session(engine) as session, session.begin():
        assert store.discard_round(session, PRACTICE) == 0  # redelivered: nothing more
        left = dict(
            session.execute(
                select(Application.round_id, func.count()).group_by(Application.round_id)
            ).all()
        )
        assert not store.is_practice(session, PRACTICE)
    engine.dispose()

    assert left == {REAL: 1}


def _open(session: Session, round_id: str, practice: bool) -> None:
    payload = {"round_id": round_id, "level": "grade_1", "year": 2027, "max_preferences": 3}
    store.open_round(session, {**payload, "practice": practice})


def _application(round_id: str, n: int, submitted_at: datetime) -> Application:
    return Application(
        reference=f"TS{round_id[:3].upper()}{n:010d}",
        round_id=round_id,
        citizen_id=f"00120000{n:04d}",
        child_name="Nguyễn Văn An",
        date_of_birth=date(2021, 3, 4),
        preferences=["SCH-A"],
        guardian_name="Nguyễn Thị Bình",
        guardian_phone="0912345678",
        guardian_email="binh@example.com",
        language="vi",
        status="received",
        submitted_at=submitted_at,
        updated_at=submitted_at,
        owner_id=None,
    )
