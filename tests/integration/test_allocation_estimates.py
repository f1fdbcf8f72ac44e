"""Estimates of an open round: the estimator service's timer runs the engine under fresh
seeds and stores the batch in the allocation database; the allocation service's RPCs read
demand, school chances and one application's own chances. Real nameko containers (one per
service, as they run), broker and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from nameko.testing.services import entrypoint_hook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.allocation import rounds
from services.allocation.domain import RoundOptions
from services.allocation.models import EstimateChance, Round, School, VerifiedApplication
from services.allocation.service import AllocationService
from services.estimator.service import EstimatorService
from shared.db.engine import build_engine
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

ROUND = "2027-grade_1"


def seed_round(db_uri: str) -> None:
    """Two schools serve ward 00001: POP (10 seats, 24 list it first) and ROOM (30 seats,
    nobody lists it); 12 outsiders from 00009 list POP only and are at risk."""
    engine = build_engine(db_uri)
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        for code, capacity in (("POP", 10), ("ROOM", 30)):
            session.add(
                School(
                    code=code,
                    name=code,
                    level="grade_1",
                    capacity=capacity,
                    ward_code="00001",
                    catchment=["00001"],
                )
            )
        rounds.create_round(session, RoundOptions("grade_1", 2027))
        rounds.open_round(session, ROUND)
        people = [(f"TSIN{i:09d}", "00001") for i in range(12)]
        people += [(f"TSOUT{i:08d}", "00009") for i in range(12)]
        for i, (reference, ward) in enumerate(people):
            session.add(
                VerifiedApplication(
                    reference=reference,
                    round_id=ROUND,
                    citizen_id=f"0012{i:08d}",
                    ward_code=ward,
                    household_id=f"H{i}",
                    preferences=["POP"],
                    state="verified",
                    as_of=now,
                )
            )
    engine.dispose()


def test_the_timer_stores_estimates_that_the_rpcs_read(
    make_database: Callable[[str], str],
    container_factory: Any,
    service_config: Callable[..., dict[str, Any]],
) -> None:
    db_uri = make_database("allocation")
    seed_round(db_uri)
    config = service_config(db_uri, ESTIMATE_SECONDS=0.2, ESTIMATE_DRAWS=60)
    container_factory(EstimatorService, config).start()
    container = container_factory(AllocationService, service_config(db_uri))
    container.start()
    # The draws never run inside allocation, whose RPCs would wait behind them.
    assert "refresh_estimates" not in {e.method_name for e in container.entrypoints}
    engine = build_engine(db_uri)

    def stored() -> int:
        with Session(engine) as session:
            return int(session.scalar(select(func.count()).select_from(EstimateChance)) or 0)

    wait_for(lambda: stored() == 24, what="a stored batch of estimates")
    with entrypoint_hook(container, "demand") as demand:
        live = demand(ROUND)
    pop = next(row for row in live["schools"] if row["school_code"] == "POP")
    assert (pop["applications"], pop["first_choice"], pop["per_seat"]) == (24, 24, 2.4)
    assert pop["by_tier"] == {"priority": 0, "catchment": 12, "outside": 12}
    room = next(row for row in live["schools"] if row["school_code"] == "ROOM")
    assert room["applications"] is None  # nobody (fewer than k) listed it
    assert (live["draws"], live["applications"], live["k"]) == (60, 24, 10)

    with entrypoint_hook(container, "school_estimates") as school_estimates:
        figures = school_estimates(ROUND)
    pop_chances = next(row for row in figures["schools"] if row["school_code"] == "POP")
    # Ten seats, twelve in catchment: never an outsider, 10/12 of the residents each draw.
    assert pop_chances["catchment"]["reached_share"] == 1.0
    assert pop_chances["catchment"]["admitted_share"] == pytest.approx(10 / 12, abs=1e-3)
    assert pop_chances["outside"]["reached_share"] == 0.0

    with entrypoint_hook(container, "application_estimate") as application_estimate:
        outsider = application_estimate("TSOUT00000003")
        resident = application_estimate("TSIN000000003")
        unknown = application_estimate("TSNOPE0000000")
    assert outsider["no_place"] == 1.0 and outsider["high_risk"]
    assert outsider["suggestions"] == []  # no school serves 00009
    assert outsider["choices"] == [{"rank": 1, "school_code": "POP", "chance": 0.0}]
    # A resident: POP in about 10 of 12 draws, else the guarantee's seat at ROOM.
    assert resident["some_choice"] + resident["guarantee"] == pytest.approx(1.0)
    assert resident["high_risk"] == (resident["some_choice"] <= 0.8) and unknown is None

    with Session(engine) as session, session.begin():  # closed: the estimates stop speaking
        round_ = session.get(Round, ROUND)
        assert round_ is not None
        round_.status = "closed"
    with entrypoint_hook(container, "demand") as demand:
        assert demand(ROUND) is None
    engine.dispose()
