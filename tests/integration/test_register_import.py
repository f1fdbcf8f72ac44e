"""The register import on a real PostgreSQL database, and the demo city it is fed from."""

from __future__ import annotations

import csv
import filecmp
import json
import os
import subprocess
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from pathlib import Path

import psycopg2
import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from services.registration.register.adapter import SqlPopulationRegister
from services.registration.register.csv_import import import_register
from services.registration.register.csv_rows import COLUMNS, OPTIONAL, BadRow, RegisterFileError
from services.registration.register.models import RegisterPerson
from services.registration.verification.rules import Claim, RoundRules, Verified, verify
from shared.db.engine import build_engine
from shared.db.migrate import upgrade
from tests.support.processes import BIN, ROOT
from tools import demo_city

pytestmark = pytest.mark.integration

REQUIRED = [column for column in COLUMNS if column not in OPTIONAL]

GOOD = [
    ["001221000001", "Nguyễn Văn An", "2021-03-04", "M", "00070", "HN0000000001", ""],
    ["001321000002", "Trần Thị Bình", "2021-05-06", "F", "00070", "HN0000000001", "khuyet_tat"],
    ["001085000003", "Nguyễn Văn Cường", "1985-01-02", "M", "00070", "HN0000000001", ""],
]
BAD = {  # line number in the file -> the row (the header is line 1)
    5: ["00122100000", "Lê Văn Dũng", "2021-01-01", "M", "00070", "HN0000000002", ""],
    6: ["001221000005", "Lê Văn Em", "2021-02-30", "X", "00070", "HN0000000002", ""],
    8: ["001221000006", "", "2021-01-01", "M", "", "HN0000000002", ""],
    9: ["001221000007", "Lê Văn Giang"],
}


def write_register(path: Path, rows: list[list[str]], header: Sequence[str] = REQUIRED) -> Path:
    """A register CSV with the required columns (or `header`)."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def register_file(tmp_path: Path) -> Path:
    """Three good rows, then bad rows on lines 5, 6, 8 and 9 around a good one on line 7."""
    extra = ["001221000009", "Phạm Thu Hà", "2021-07-08", "F", "00073", "HN0000000003", ""]
    rows = [*GOOD, BAD[5], BAD[6], extra, BAD[8], BAD[9]]
    return write_register(tmp_path / "register.csv", rows)


@pytest.fixture
def db_uri(make_database: Callable[[str], str]) -> str:
    """A migrated registration database."""
    return make_database("registration")


@pytest.fixture
def engine(db_uri: str) -> Iterator[Engine]:
    """An engine on that database."""
    engine = build_engine(db_uri)
    yield engine
    engine.dispose()


def people(engine: Engine) -> dict[str, RegisterPerson]:
    """Every register row, by citizen id."""
    with Session(engine) as session:
        return {p.citizen_id: p for p in session.scalars(select(RegisterPerson))}


def test_imports_the_valid_rows_and_reports_each_bad_one_by_line_and_field(
    engine: Engine, register_file: Path
) -> None:
    bad: list[BadRow] = []

    summary = import_register(engine, register_file, batch_size=2, on_bad_row=bad.append)

    stored = people(engine)
    assert sorted(stored) == ["001085000003", "001221000001", "001221000009", "001321000002"]
    assert stored["001321000002"].priority_category == "khuyet_tat"
    assert stored["001221000001"].priority_category is None
    assert stored["001221000001"].date_of_birth == date(2021, 3, 4)
    assert (summary.read, summary.imported, summary.changed, summary.bad) == (8, 4, 4, 4)
    assert [row.describe() for row in bad] == [
        "line 5: citizen_id is not 12 digits",
        "line 6: date_of_birth is not a real date; gender is not M or F",
        "line 8: full_name is empty; ward_code is empty",
        "line 9: row has 2 fields",
    ]


def test_a_second_run_adds_no_duplicates_and_updates_only_changed_rows(
    engine: Engine, tmp_path: Path
) -> None:
    import_register(engine, write_register(tmp_path / "first.csv", GOOD))
    moved = [*GOOD[:2], [*GOOD[2][:4], "09556", "HN0000000009", ""]]

    again = import_register(engine, write_register(tmp_path / "second.csv", moved))

    stored = people(engine)
    assert len(stored) == 3
    assert (stored["001085000003"].ward_code, stored["001085000003"].household_id) == (
        "09556",
        "HN0000000009",
    )
    assert (again.imported, again.changed) == (3, 1)
    assert import_register(engine, tmp_path / "second.csv").changed == 0


def test_the_same_citizen_twice_in_one_batch_keeps_the_later_row(
    engine: Engine, tmp_path: Path
) -> None:
    renamed = [GOOD[0][0], "Nguyễn Văn Ân", *GOOD[0][2:]]
    path = write_register(tmp_path / "twice.csv", [GOOD[0], renamed])

    import_register(engine, path)

    assert people(engine)[GOOD[0][0]].full_name == "Nguyễn Văn Ân"


def test_names_with_decomposed_diacritics_are_stored_composed(
    engine: Engine, tmp_path: Path
) -> None:
    decomposed = [GOOD[0][0], unicodedata.normalize("NFD", GOOD[0][1]), *GOOD[0][2:]]

    import_register(engine, write_register(tmp_path / "nfd.csv", [decomposed]))

    assert people(engine)[GOOD[0][0]].full_name == unicodedata.normalize("NFC", GOOD[0][1])


def test_the_residences_point_is_imported_when_given_and_checked(
    engine: Engine, tmp_path: Path
) -> None:
    rows = [
        [*GOOD[0], "21.028511", "105.804817"],
        [*GOOD[1], "", ""],
        [*GOOD[2], "91.5", "105.8"],
        ["001221000009", *GOOD[0][1:], "21.02", ""],
        ["001221000010", *GOOD[0][1:], "21,02", "1e2"],
    ]
    bad: list[BadRow] = []

    summary = import_register(
        engine, write_register(tmp_path / "geo.csv", rows, COLUMNS), on_bad_row=bad.append
    )

    stored = people(engine)
    assert (stored[GOOD[0][0]].lat, stored[GOOD[0][0]].lon) == (21.028511, 105.804817)
    assert (stored[GOOD[1][0]].lat, stored[GOOD[1][0]].lon) == (None, None)
    assert (summary.imported, summary.bad) == (2, 3)
    assert [row.describe() for row in bad] == [
        "line 4: lat is not a number between -90 and 90",
        "line 5: lon is empty while the other coordinate is not",
        "line 6: lat is not a number between -90 and 90; lon is not a number between -180 and 180",
    ]
    record = SqlPopulationRegister(Session(engine)).lookup(GOOD[0][0])
    assert record is not None and (record.lat, record.lon) == (21.028511, 105.804817)


def test_a_file_without_the_register_columns_is_refused_before_anything_is_written(
    engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "wrong.csv"
    path.write_text("citizen_id,full_name\n001221000001,Nguyễn Văn An\n", encoding="utf-8")

    with pytest.raises(RegisterFileError, match="date_of_birth"):
        import_register(engine, path)
    assert people(engine) == {}


def test_a_batch_the_database_refuses_stops_the_import_with_the_databases_error(
    engine: Engine, register_file: Path
) -> None:
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE register_people ALTER full_name TYPE varchar(13)"))

    with pytest.raises(psycopg2.DataError):
        import_register(engine, register_file, batch_size=1)

    assert sorted(people(engine)) == ["001221000001", "001321000002"]  # the batches before


def test_the_sql_register_finds_people_one_at_a_time_or_many_at_once(
    engine: Engine, register_file: Path
) -> None:
    import_register(engine, register_file)

    with Session(engine) as session:
        register = SqlPopulationRegister(session)
        one = register.lookup("001321000002")
        many = register.lookup_many(["001221000001", "999999999999", "001085000003"])
        missing = register.lookup("999999999999")

    assert one is not None and (one.full_name, one.ward_code) == ("Trần Thị Bình", "00070")
    assert sorted(many) == ["001085000003", "001221000001"]
    assert missing is None


def test_the_command_line_reports_bad_lines_without_personal_data_and_sums_up(
    db_uri: str, register_file: Path
) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "REGISTRATION_DB_URI": db_uri}
    args = [str(BIN / "python"), "-m", "services.registration.cli", "import-register"]

    done = subprocess.run(
        [*args, str(register_file)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 0, done.stderr
    assert "line 5: citizen_id is not 12 digits" in done.stderr
    assert "line 9: row has 2 fields" in done.stderr
    for row in BAD.values():
        for value in (value for value in row if len(value) > 3):  # not "M", "X" or ""
            assert value not in done.stderr
    assert "rows read 8 · imported 4 (changed 4) · bad 4" in done.stdout


def test_the_embedded_sqlite_database_takes_the_same_import(
    tmp_path: Path, register_file: Path
) -> None:
    uri = f"sqlite:///{tmp_path / 'registration.db'}"
    upgrade("registration", uri)
    engine = build_engine(uri)
    try:
        first = import_register(engine, register_file)
        again = import_register(engine, register_file)
        assert len(people(engine)) == 4
    finally:
        engine.dispose()
    assert (first.bad, first.changed, again.changed) == (4, 4, 0)


def test_the_demo_city_is_the_same_file_for_file_for_the_same_seed(tmp_path: Path) -> None:
    for name in ("one", "two"):
        demo_city.main(["--scale", "small", "--out", str(tmp_path / name), "--seed", "11"])

    files = ["wards.csv", "schools.csv", "register.csv", "applications.jsonl"]
    match, mismatch, errors = filecmp.cmpfiles(tmp_path / "one", tmp_path / "two", files, False)
    assert (match, mismatch, errors) == (files, [], [])
    demo_city.main(["--scale", "small", "--out", str(tmp_path / "three"), "--seed", "12"])
    assert not filecmp.cmp(tmp_path / "one" / "register.csv", tmp_path / "three" / "register.csv")


def test_the_demo_city_is_built_on_hanois_real_wards(tmp_path: Path) -> None:
    demo_city.build_city(tmp_path, "small", seed=2027, year=2027)

    wards = dict(csv.reader((tmp_path / "wards.csv").open(encoding="utf-8")))
    with (tmp_path / "schools.csv").open(encoding="utf-8") as handle:
        schools = list(csv.DictReader(handle))
    assert wards["00070"] == "Phường Hoàn Kiếm"
    assert "Trường Tiểu học Hoàn Kiếm" in {school["name"] for school in schools}
    assert {school["ward_code"] for school in schools} <= set(wards)
    assert len(demo_city.hanoi_wards()) == 126


def test_the_demo_register_imports_cleanly_and_most_applications_verify(
    engine: Engine, tmp_path: Path
) -> None:
    counts = demo_city.build_city(tmp_path, "small", seed=2027, year=2027)
    summary = import_register(engine, tmp_path / "register.csv")
    with (tmp_path / "schools.csv").open(encoding="utf-8") as handle:
        directory = {row["code"]: row["level"] for row in csv.DictReader(handle)}

    verdicts = []
    with Session(engine) as session, (tmp_path / "applications.jsonl").open() as lines:
        register = SqlPopulationRegister(session)
        for body in map(json.loads, lines):
            child = body["child"]
            claim = Claim(
                citizen_id=child["citizen_id"],
                full_name=child["full_name"],
                date_of_birth=date.fromisoformat(child["date_of_birth"]),
                preferences=tuple(body["preferences"]),
            )
            year, level = body["round_id"].split("-")
            rules = RoundRules(level=level, year=int(year))
            verdicts.append(verify(claim, register.lookup(claim.citizen_id), rules, directory))

    assert (summary.bad, summary.imported) == (0, counts["register"])
    assert sum(isinstance(v, Verified) for v in verdicts) >= 0.9 * counts["applications"]


def test_the_benchmark_register_has_bad_rows_and_the_import_finds_every_one(
    engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "register.csv"
    broken = demo_city.build_register(path, rows=5000, seed=1, year=2027, bad_share=0.01)

    summary = import_register(engine, path, batch_size=1000)

    assert broken > 0
    assert (summary.read, summary.bad) == (5000, broken)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(RegisterPerson)) == 5000 - broken
