"""The embedded default: the allocate and publish jobs and a freed-seat chain on a SQLite file.

No server is involved here (SQLite is the one-machine default of `make run`); the rows go
through `executemany` instead of PostgreSQL's COPY, and the round lock is SQLite's own
database-wide write lock.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.allocation import offers, results, rounds
from services.allocation.domain import RoundOptions
from services.allocation.models import Placement, School, VerifiedApplication
from services.allocation.preview import run_allocation
from services.allocation.publish import publish_round
from shared.db.engine import build_engine
from shared.db.migrate import upgrade
from shared.db.outbox import pending_count

ROUND = "2027-grade_1"


def test_a_round_runs_end_to_end_on_sqlite(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'allocation.db'}"
    upgrade("allocation", uri)
    engine = build_engine(uri)
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        for code, ward in (("SCH-A", "00001"), ("SCH-B", "00002")):
            session.add(
                School(
                    code=code,
                    name=code,
                    level="grade_1",
                    capacity=1,
                    ward_code=ward,
                    catchment=[ward],
                )
            )
        rounds.create_round(session, RoundOptions("grade_1", 2027))
        rounds.open_round(session, ROUND)
        for ref, cid, ward, prefs, category in (
            ("TSP0000000001", "001200000001", "00001", ["SCH-A"], "policy"),
            ("TSQ0000000001", "001200000002", "00002", ["SCH-A", "SCH-B"], None),
            ("TSR0000000001", "001200000003", "00009", ["SCH-B"], None),
        ):
            session.add(
                VerifiedApplication(
                    reference=ref,
                    round_id=ROUND,
                    citizen_id=cid,
                    ward_code=ward,
                    household_id=f"H{cid}",
                    priority_category=category,
                    preferences=prefs,
                    state="verified",
                    as_of=now,
                )
            )
        rounds.close_round(session, ROUND)
    with Session(engine) as session, session.begin():
        run_allocation(session, rounds.get_round(session, ROUND, lock=True), now)
    with Session(engine) as session, session.begin():
        staged = publish_round(session, rounds.get_round(session, ROUND, lock=True), now)
    assert staged == {"seat_offered": 2, "application_waitlisted": 1, "application_unplaced": 0}

    with Session(engine) as session, session.begin():
        offers.decline_offer(session, "TSP0000000001", now)

    with Session(engine) as session:
        seats = dict(session.execute(select(Placement.reference, Placement.seat_school)).all())
        assert seats == {"TSP0000000001": None, "TSQ0000000001": "SCH-A", "TSR0000000001": "SCH-B"}
        result = results.get_result(session, "TSR0000000001")
        assert result is not None and result["offer"]["status"] == "offered"
        exported = session.scalar(select(func.count()).select_from(Placement))
    assert exported == 3
    assert pending_count(engine) == 1 + 1 + 3 + 1 + 2  # opened, closed, published, chain
    engine.dispose()
