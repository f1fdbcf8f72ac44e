"""The finder of an application: from the register's point of the registered address when
allocation has one for the verified application, else from the ward's point, saying which;
on a real database (the SQLite file of `make run`)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from services.allocation import rounds
from services.allocation.domain import RoundOptions
from services.allocation.exceptions import ApplicationNotFound
from services.allocation.finder import find_for_application
from services.allocation.models import School, VerifiedApplication, Ward
from shared.db.engine import build_engine
from shared.db.migrate import upgrade

ROUND = "2027-grade_1"


def test_the_address_point_when_the_register_has_one_else_the_ward(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'allocation.db'}"
    upgrade("allocation", uri)
    engine = build_engine(uri)
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        session.add(Ward(code="00001", name="Phường Một"))
        # WEST and EAST both in ward 00001 (its centre: halfway); the home is next to EAST.
        for code, lon in (("WEST", 105.80), ("EAST", 105.90)):
            session.add(
                School(
                    code=code,
                    name=code,
                    level="grade_1",
                    capacity=30,
                    ward_code="00001",
                    catchment=["00001"],
                    lat=21.0,
                    lon=lon,
                )
            )
        rounds.create_round(session, RoundOptions("grade_1", 2027))
        for reference, point, state in (
            ("TSHOME00000000001", (21.0004, 105.8994), "verified"),
            ("TSNOPOINT00000001", (None, None), "verified"),
            ("TSREJECTED0000001", (21.0, 105.9), "rejected"),
        ):
            session.add(
                VerifiedApplication(
                    reference=reference,
                    round_id=ROUND,
                    ward_code="00001",
                    preferences=["WEST"],
                    lat=point[0],
                    lon=point[1],
                    state=state,
                    as_of=now,
                )
            )
    with Session(engine) as session:
        home = find_for_application(session, "TSHOME00000000001")
        ward = find_for_application(session, "TSNOPOINT00000001")
        for unknown in ("TSREJECTED0000001", "TSNOBODY000000001"):
            with pytest.raises(ApplicationNotFound):
                find_for_application(session, unknown)
    engine.dispose()

    assert home["point_source"] == "address" and home["level"] == "grade_1"
    assert home["point"] == {"lat": 21.0, "lon": 105.899}  # no finer than ~100 m
    assert [s["code"] for s in home["schools"]] == ["EAST", "WEST"]
    assert home["schools"][0]["distance_m"] < 100  # measured from the exact point
    assert ward["point_source"] == "ward"
    assert ward["point"] == {"lat": 21.0, "lon": pytest.approx(105.85)}
    # From the ward's centre, halfway: 0.05 degrees of longitude at 21° N, about 5.19 km each.
    [both] = {round(s["distance_m"], -1) for s in ward["schools"]}
    assert 5_150 <= both <= 5_230
