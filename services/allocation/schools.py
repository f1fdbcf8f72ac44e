"""The department's school data: importing wards and schools, and the catchment lookups."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.allocation.exceptions import WardNotFound
from services.allocation.models import School, Ward
from shared.contracts.common import LEVELS, SCHOOL_CODE
from shared.contracts.envelope import make_message
from shared.db.outbox import stage_event
from shared.text import folded

SERVICE = "allocation"


@dataclass
class ImportReport:
    """What an import did: counts, and the rows it refused with their line numbers."""

    wards: int = 0
    schools: int = 0
    refused: list[str] = field(default_factory=list)


def import_city(session: Session, directory: Path) -> ImportReport:
    """Upsert `wards.csv` and `schools.csv` from `directory`; announce the new directory."""
    report = ImportReport()
    wards = {row["code"]: row["name"] for row in _rows(directory / "wards.csv")}
    for code, name in wards.items():
        session.merge(Ward(code=code, name=name))
    report.wards = len(wards)
    for line, row in enumerate(_rows(directory / "schools.csv"), start=2):
        problem = _problem(row, wards)
        if problem:
            report.refused.append(f"schools.csv line {line}: {problem}")
            continue
        session.merge(
            School(
                code=row["code"],
                name=row["name"],
                level=row["level"],
                capacity=int(row["capacity"]),
                ward_code=row["ward_code"],
                catchment=sorted(set(row["catchment"].split(";"))),
                lat=_coordinate(row, "lat"),
                lon=_coordinate(row, "lon"),
                search_key=folded(f"{row['name']} {row['code']}"),
            )
        )
        report.schools += 1
    session.flush()
    announce_directory(session)
    return report


def announce_directory(session: Session) -> None:
    """Stage `school_directory_updated` with every school's code and level."""
    rows = session.execute(select(School.code, School.level).order_by(School.code))
    schools = [{"code": code, "level": level} for code, level in rows]
    stage_event(session, SERVICE, make_message("school_directory_updated", {"schools": schools}))


def schools_of_level(session: Session, level: str) -> list[School]:
    """Every school of a level, by code."""
    return list(session.scalars(select(School).where(School.level == level).order_by(School.code)))


def catchment(session: Session, ward_code: str, level: str) -> tuple[Ward, list[School]]:
    """The ward and the schools of `level` whose catchment includes it."""
    ward = session.get(Ward, ward_code)
    if ward is None:
        raise WardNotFound(ward_code)
    serving = [
        school for school in schools_of_level(session, level) if ward_code in school.catchment
    ]
    return ward, serving


def _rows(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _problem(row: dict[str, str], wards: dict[str, str]) -> str | None:
    try:
        SCHOOL_CODE(row["code"])
    except Exception:
        return "code is not a school code"
    if row["level"] not in LEVELS:
        return "level is not one of " + ", ".join(LEVELS)
    if not row["capacity"].isdigit() or int(row["capacity"]) < 1:
        return "capacity is not a positive whole number"
    catchment_wards = [code for code in row["catchment"].split(";") if code]
    if not catchment_wards or any(code not in wards for code in catchment_wards):
        return "catchment names a ward that is not in wards.csv"
    if row["ward_code"] not in wards:
        return "ward_code is not in wards.csv"
    try:
        located = [_coordinate(row, "lat"), _coordinate(row, "lon")]
    except ValueError as exc:
        return str(exc)
    if located.count(None) == 1:
        return "lat and lon must be given together"
    return None


def _coordinate(row: dict[str, str], column: str) -> float | None:
    """The optional `lat` or `lon` column: None if absent or empty; ValueError if wrong."""
    text = (row.get(column) or "").strip()
    if not text:
        return None
    bound = 90.0 if column == "lat" else 180.0
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not -bound <= value <= bound:
        raise ValueError(f"{column} is not a number between -{bound:g} and {bound:g}")
    return value
