"""The allocation service in a real nameko container, on the real broker and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from nameko.testing.services import entrypoint_hook
from sqlalchemy.orm import Session

from services.allocation.cli import load_demo
from services.allocation.exceptions import RoundNotFound
from services.allocation.models import School
from services.allocation.service import AllocationService
from shared.db.engine import build_engine
from shared.db.outbox import pending_count
from tests.support.broker import drain, tap
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def demo_db(make_database: Callable[[str], str]) -> str:
    """An allocation database holding the opened demo rounds of 2027, events still unsent."""
    db_uri = make_database("allocation")
    engine = build_engine(db_uri)
    with Session(engine) as session, session.begin():
        load_demo(session, 2027)
    engine.dispose()
    return db_uri


def test_opened_rounds_are_announced_through_the_outbox_once_the_service_runs(
    demo_db: str,
    container_factory: Any,
    service_config: Callable[..., dict[str, Any]],
    amqp_uri: str,
) -> None:
    announced = tap(amqp_uri, "allocation", "round_opened")
    engine = build_engine(demo_db)
    assert pending_count(engine) == 3

    container_factory(AllocationService, service_config(demo_db)).start()

    events = drain(amqp_uri, announced.name, expect=3)
    assert sorted(body["payload"]["round_id"] for body, _ in events) == [
        "2027-grade_1",
        "2027-grade_6",
        "2027-kindergarten",
    ]
    assert {body["payload"]["max_preferences"] for body, _ in events} == {3}
    wait_for(lambda: pending_count(engine) == 0, what="an empty outbox")
    engine.dispose()


def test_loading_the_demo_twice_opens_nothing_new(demo_db: str) -> None:
    engine = build_engine(demo_db)
    with Session(engine) as session, session.begin():
        assert load_demo(session, 2027) == []
    assert pending_count(engine) == 3
    engine.dispose()


def test_lists_open_rounds_and_reads_one_over_rpc(
    demo_db: str, container_factory: Any, service_config: Callable[..., dict[str, Any]]
) -> None:
    container = container_factory(AllocationService, service_config(demo_db))
    container.start()

    with entrypoint_hook(container, "list_open_rounds") as list_open_rounds:
        rounds = list_open_rounds()
    with entrypoint_hook(container, "get_round") as get_round:
        grade_6 = get_round("2027-grade_6")
        with pytest.raises(RoundNotFound):
            get_round("1999-grade_1")

    assert [r["round_id"] for r in rounds] == ["2027-grade_1", "2027-grade_6", "2027-kindergarten"]
    assert (grade_6["level"], grade_6["year"], grade_6["status"]) == ("grade_6", 2027, "open")


@pytest.fixture
def city(tmp_path: Any) -> Any:
    """The small demo city's files."""
    from tools.demo_city import build_city

    build_city(tmp_path / "city", "small", 2027, 2027)
    return tmp_path / "city"


def test_importing_the_city_announces_the_school_directory_and_answers_catchments(
    make_database: Callable[[str], str],
    container_factory: Any,
    service_config: Callable[..., dict[str, Any]],
    amqp_uri: str,
    city: Any,
) -> None:
    import csv

    from services.allocation.schools import import_city

    directory = tap(amqp_uri, "allocation", "school_directory_updated")
    db_uri = make_database("allocation")
    engine = build_engine(db_uri)
    with Session(engine) as session, session.begin():
        report = import_city(session, city)
    schools = list(csv.DictReader(open(city / "schools.csv", encoding="utf-8")))
    with Session(engine) as session:  # each school's map point, for distance tie-breaks
        stored = session.get(School, schools[0]["code"])
        assert stored is not None
        assert (stored.lat, stored.lon) == (float(schools[0]["lat"]), float(schools[0]["lon"]))
    engine.dispose()
    wards = dict(csv.reader(open(city / "wards.csv", encoding="utf-8")))
    assert (report.schools, report.refused) == (len(schools), [])
    container = container_factory(AllocationService, service_config(db_uri))
    container.start()

    [(event, _)] = drain(amqp_uri, directory.name, expect=1)
    assert len(event["payload"]["schools"]) == len(schools)
    ward = schools[0]["catchment"].split(";")[0]
    with entrypoint_hook(container, "catchment") as catchment:
        answer = catchment(ward, "grade_1")
    assert answer["ward"] == {"code": ward, "name": wards[ward]}
    expected = sorted(
        s["code"] for s in schools if s["level"] == "grade_1" and ward in s["catchment"].split(";")
    )
    assert [s["code"] for s in answer["schools"]] == expected
    assert expected, "the demo city must serve every ward at every level"


def test_a_school_row_with_an_unknown_ward_is_refused_with_its_line(
    make_database: Callable[[str], str], city: Any
) -> None:
    from services.allocation.schools import import_city

    with open(city / "schools.csv", "a", encoding="utf-8") as handle:
        handle.write("TH-9999,Trường lạ,grade_1,30,99999,99999\n")
    engine = build_engine(make_database("allocation"))
    with Session(engine) as session, session.begin():
        report = import_city(session, city)
    engine.dispose()

    [problem] = report.refused
    assert problem.startswith("schools.csv line ")
    assert "catchment names a ward that is not in wards.csv" in problem


def test_a_school_row_with_a_wrong_or_half_map_point_is_refused_with_its_line(
    make_database: Callable[[str], str], city: Any
) -> None:
    from services.allocation.schools import import_city

    ward = open(city / "wards.csv", encoding="utf-8").read().splitlines()[1].split(",")[0]
    with open(city / "schools.csv", "a", encoding="utf-8") as handle:
        handle.write(f"TH-9998,Trường A,grade_1,30,{ward},{ward},21.03,\n")
        handle.write(f"TH-9999,Trường B,grade_1,30,{ward},{ward},north,105.8\n")
    engine = build_engine(make_database("allocation"))
    with Session(engine) as session, session.begin():
        report = import_city(session, city)
        assert session.get(School, "TH-9998") is None
    engine.dispose()

    assert [problem.split(": ", 1)[1] for problem in report.refused] == [
        "lat and lon must be given together",
        "lat is not a number between -90 and 90",
    ]
