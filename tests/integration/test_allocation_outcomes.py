"""A published round's outcome per school, as open data: computed from the stored results
on a real database (the SQLite file of `make run`; no server needed), with the k rule."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from services.allocation import outcomes, rounds
from services.allocation.domain import RoundOptions
from services.allocation.exceptions import RoundNotFound
from services.allocation.models import School, VerifiedApplication
from services.allocation.preview import run_allocation
from services.allocation.publish import publish_round
from shared.db.engine import build_engine
from shared.db.migrate import upgrade

ROUND = "2027-grade_1"


def test_outcomes_per_school_after_publication_only(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'allocation.db'}"
    upgrade("allocation", uri)
    engine = build_engine(uri)
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        for code, capacity, ward in (("BIG", 10, "00001"), ("ROOM", 40, "00001")):
            session.add(
                School(
                    code=code,
                    name=f"School {code}",
                    level="grade_1",
                    capacity=capacity,
                    ward_code=ward,
                    catchment=[ward],
                )
            )
        rounds.create_round(session, RoundOptions("grade_1", 2027))
        rounds.open_round(session, ROUND)
        # 15 residents and 12 outsiders all want BIG (10 seats); 3 residents ROOM first.
        people = [(f"TSIN{i:09d}", "00001", ["BIG"]) for i in range(15)]
        people += [(f"TSOUT{i:08d}", "00009", ["BIG"]) for i in range(12)]
        people += [(f"TSROOM{i:07d}", "00001", ["ROOM"]) for i in range(3)]
        for i, (reference, ward, prefs) in enumerate(people):
            session.add(
                VerifiedApplication(
                    reference=reference,
                    round_id=ROUND,
                    citizen_id=f"0012{i:08d}",
                    ward_code=ward,
                    household_id=f"H{i}",
                    preferences=prefs,
                    state="verified",
                    as_of=now,
                )
            )
        rounds.close_round(session, ROUND)
    with Session(engine) as session, session.begin():
        run_allocation(session, rounds.get_round(session, ROUND, lock=True), now)
        with pytest.raises(RoundNotFound):  # a preview is not public
            outcomes.round_outcomes(session, ROUND)
        assert outcomes.published_rounds(session) == []
    with Session(engine) as session, session.begin():
        publish_round(session, rounds.get_round(session, ROUND, lock=True), now)
    with Session(engine) as session:
        [listed] = outcomes.published_rounds(session)
        rows = {row["school_code"]: row for row in outcomes.round_outcomes(session, ROUND)}
    engine.dispose()
    assert listed["round_id"] == ROUND
    big, room = rows["BIG"], rows["ROOM"]
    assert (big["seats"], big["applications"], big["first_choice"]) == (10, 27, 27)
    # Ten residents win BIG's seats; the five others go to ROOM by the guarantee.
    assert big["offers_catchment"] == 10 and big["offers_outside"] == 0
    assert big["cutoff_tier"] == 2 and 0 <= big["cutoff_lottery_percentile"] <= 100
    # ROOM: 3 by preference and 5 by guarantee, both below k: hidden; seats left, no cutoff.
    assert room["applications"] is None and room["offers_catchment"] is None
    assert room["offers_guarantee"] is None and room["cutoff_tier"] is None
    text = outcomes.as_csv(list(rows.values()))
    parsed = {r["school_code"]: r for r in csv.DictReader(io.StringIO(text))}
    assert parsed["BIG"]["offers_catchment"] == "10" and parsed["ROOM"]["applications"] == ""
    assert list(parsed["BIG"]) == list(outcomes.COLUMNS)
