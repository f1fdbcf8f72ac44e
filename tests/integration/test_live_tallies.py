"""The live window's running counts, on a real migrated PostgreSQL database: after any mix
of inserts, verdicts, amendments, withdrawals, erasures, deletions and rolled-back work,
every count equals what counting the applications themselves gives."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, select
from sqlalchemy.orm import Session

from services.registration.erasure import anonymise
from services.registration.intake import tallies
from services.registration.models import Application
from services.registration.store import set_status
from shared.db.counts import minute_of
from shared.db.migrate import upgrade
from tests.support.databases import create_database, drop_database

pytestmark = pytest.mark.integration

ROUND = "2027-grade_1"
WARDS = ("26734", "26737", "26740")
REASONS = ("name_mismatch", "birth_date_mismatch", "unknown_school")
START = datetime(2027, 6, 1, 1, 0, tzinfo=UTC)


@pytest.fixture
def session(make_database: Callable[[str], str]) -> Iterator[Session]:
    engine = create_engine(make_database("registration"))
    with Session(engine) as session:
        yield session
    engine.dispose()


def new_application(n: int, round_id: str = ROUND) -> Application:
    return Application(
        reference=f"TSLIVE{n:011d}",
        round_id=round_id,
        citizen_id=f"{n:012d}",
        child_name="Trẻ Thử",
        date_of_birth=date(2021, 1, 1),
        preferences=["TH-001"],
        guardian_name="Người Giám Hộ",
        guardian_phone="0912345678",
        guardian_email="g@example.com",
        language="vi",
        status="received",
        status_changed_at=START,
        submitted_at=START + timedelta(seconds=17 * n),
        updated_at=START,
    )


def give_verdict(application: Application, rng: random.Random) -> None:
    if rng.random() < 0.6:
        application.ward_code, application.rejection_reasons = rng.choice(WARDS), None
        set_status(application, "verified", datetime.now(UTC))
    else:
        codes = rng.sample(REASONS, rng.randint(1, 2))
        reasons = [{"code": c, "field": "x", "message_vi": "", "message_en": ""} for c in codes]
        application.ward_code, application.rejection_reasons = None, reasons
        set_status(application, "rejected", datetime.now(UTC))


def recount(session: Session, round_id: str) -> dict[str, Any]:
    """What the counts must say, counted from the applications."""
    rows = list(session.scalars(select(Application).where(Application.round_id == round_id)))
    wards = Counter(
        a.ward_code for a in rows if a.ward_code and a.status not in ("withdrawn", "refused")
    )
    reasons = Counter(
        code
        for a in rows
        if a.status == "rejected"
        for code in {r["code"] for r in a.rejection_reasons or ()}
    )
    return {
        "submitted": len(rows),
        "statuses": dict(Counter(a.status for a in rows)),
        "wards": dict(wards),
        "reasons": dict(reasons),
        "per_minute": dict(Counter(minute_of(a.submitted_at) for a in rows)),
    }


def counted(session: Session, round_id: str) -> dict[str, Any]:
    """What the running counts say (every minute since the first submission)."""
    minutes = int((datetime.now(UTC) - START).total_seconds() // 60) + 2
    live = tallies.live_counts(session, round_id, datetime.now(UTC), minutes)
    return {
        "submitted": live["submitted"],
        "statuses": live["statuses"],
        "wards": live["wards"],
        "reasons": live["reasons"],
        "per_minute": dict(map(tuple, live["submitted_per_minute"])),
    }


def test_the_counts_follow_every_change_and_ignore_what_rolled_back(session: Session) -> None:
    rng = random.Random(21)
    applications = [new_application(n) for n in range(300)]
    other = new_application(999, round_id="2027-grade_6")
    session.add_all([*applications, other])
    session.flush()
    for application in applications[:200]:  # checked in the intake's transaction
        give_verdict(application, rng)
    session.commit()
    assert counted(session, ROUND) == recount(session, ROUND)

    for application in rng.sample(applications, 60):  # amended: checked again from scratch
        set_status(application, "received", datetime.now(UTC))
        session.flush()
        give_verdict(application, rng)
    for application in rng.sample(applications, 20):
        set_status(application, "withdrawn", datetime.now(UTC))
    erased = [a for a in applications if a.status == "verified"][:5]
    erased_wards = Counter(a.ward_code for a in erased)
    for application in erased:
        anonymise(application, datetime.now(UTC))  # blanks the ward; the count stays
    session.commit()
    expected = recount(session, ROUND)
    assert counted(session, ROUND) == {
        **expected,
        "wards": dict(Counter(expected["wards"]) + erased_wards),
    }

    before = counted(session, ROUND)
    for application in applications[200:]:
        give_verdict(application, rng)
    session.add(new_application(5000))
    session.flush()
    session.rollback()
    assert counted(session, ROUND) == before

    session.delete(session.get(Application, applications[0].reference))
    session.commit()
    after = counted(session, ROUND)
    assert after["submitted"] == before["submitted"] - 1
    assert counted(session, "2027-grade_6")["statuses"] == {"received": 1}

    checked = tallies.live_counts(session, ROUND, datetime.now(UTC), 5)["checked_per_minute"]
    verdicts = 200 + 60  # the first verdicts and the amendments' (the rolled-back ones: none)
    assert sum(n for _, n in checked) == verdicts

    tallies.forget_round(session, ROUND)
    session.commit()
    assert counted(session, ROUND)["submitted"] == 0


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_the_migration_counts_the_applications_already_stored(
    backend: str, tmp_path: Any, request: pytest.FixtureRequest
) -> None:
    if backend == "postgresql":
        uri = create_database("registration", "0009")
        request.addfinalizer(lambda: drop_database(uri))
    else:
        uri = f"sqlite:///{tmp_path / 'registration.db'}"
        upgrade("registration", uri, "0009")
    engine = create_engine(uri)
    rng = random.Random(9)
    applications = [new_application(n) for n in range(40)]
    for application in applications[:30]:
        give_verdict(application, rng)
    set_status(applications[0], "withdrawn", datetime.now(UTC))
    table = Application.__table__
    rows = [{c.name: getattr(a, c.name, None) for c in table.columns} for a in applications]
    with engine.begin() as connection:  # the 0009 schema: no counts yet, nor their table
        present = {column["name"] for column in inspect(connection).get_columns(table.name)}
        old_rows = [{k: v for k, v in row.items() if k in present} for row in rows]
        connection.execute(table.insert(), old_rows)  # (later columns came with later migrations)
    upgrade("registration", uri)
    with Session(engine) as session:
        found = counted(session, ROUND)
        assert found == recount(session, ROUND)
        assert found["reasons"] and found["wards"]
    engine.dispose()
