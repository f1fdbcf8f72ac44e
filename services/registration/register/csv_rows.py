"""Reading the register's CSV as a stream: row-by-row validation that names no personal data."""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from operator import itemgetter
from typing import BinaryIO

COLUMNS = (
    "citizen_id",
    "full_name",
    "date_of_birth",
    "gender",
    "ward_code",
    "household_id",
    "priority_category",
    "lat",
    "lon",
)
# The residence's geocoded point may be absent from a file, or empty in a row.
OPTIONAL = frozenset({"lat", "lon"})
BOUNDS = {"lat": 90.0, "lon": 180.0}
MAX_LENGTH = {"full_name": 120, "ward_code": 10, "household_id": 20, "priority_category": 40}
GENDERS = ("M", "F")

# A checked row, in COLUMNS order; the date and coordinates stay text, and
# priority_category, lat and lon may be None.
Row = tuple[str, str, str, str, str, str, str | None, str | None, str | None]

_CITIZEN_ID = re.compile(r"[0-9]{12}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DECIMAL = re.compile(r"-?[0-9]{1,3}(\.[0-9]{1,12})?")
# Control characters (PostgreSQL refuses NUL outright) and undecodable bytes, which
# ByteCountingLines keeps as lone surrogates.
_UNFIT = re.compile("[\x00-\x1f\x7f\udc80-\udcff]")


class RegisterFileError(Exception):
    """The file cannot be imported at all (for instance, a column is missing)."""


@dataclass(frozen=True)
class BadRow:
    """A row left out: its line number and what is wrong, by field name only."""

    line: int
    problems: tuple[tuple[str, str], ...]

    def describe(self) -> str:
        """`line 17: citizen_id is not 12 digits; gender is not M or F` (never the values)."""
        return f"line {self.line}: " + "; ".join(f"{f} {why}" for f, why in self.problems)


class ByteCountingLines:
    """Decoded lines of a binary file, counting the bytes read for a progress bar."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.bytes_read = 0

    def __iter__(self) -> Iterator[str]:
        for number, line in enumerate(self.raw):
            self.bytes_read += len(line)
            # Undecodable bytes survive as surrogates; check_row turns them into a bad row
            # instead of letting one broken line abort the whole import.
            text = line.decode("utf-8", "surrogateescape")
            yield text.removeprefix("\ufeff") if number == 0 else text


def read_rows(lines: ByteCountingLines, on_bad_row: Callable[[BadRow], None]) -> Iterator[Row]:
    """Yield each valid row; hand each invalid one, with its line number, to `on_bad_row`."""
    reader = csv.reader(lines)
    header = next(reader, None)
    pick = _column_picker(header)
    width = len(header or ())
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error:
            on_bad_row(BadRow(reader.line_num, (("row", "is not readable CSV"),)))
            continue
        if not fields:
            continue  # a blank line
        if len(fields) != width:
            on_bad_row(BadRow(reader.line_num, (("row", f"has {len(fields)} fields"),)))
            continue
        row, problems = check_row(pick(fields))
        if row is None:
            on_bad_row(BadRow(reader.line_num, problems))
        else:
            yield row


def check_row(fields: tuple[str, ...]) -> tuple[Row | None, tuple[tuple[str, str], ...]]:
    """Validate one row's fields (in COLUMNS order): the clean row, or what is wrong with it."""
    cid, name, born, gender, ward, household, priority, lat, lon = (f.strip() for f in fields)
    problems: list[tuple[str, str]] = []
    if not _CITIZEN_ID.fullmatch(cid):
        problems.append(("citizen_id", "is not 12 digits"))
    if not _ISO_DATE.fullmatch(born):
        problems.append(("date_of_birth", "is not a YYYY-MM-DD date"))
    else:
        try:
            date.fromisoformat(born)
        except ValueError:
            problems.append(("date_of_birth", "is not a real date"))
    if gender not in GENDERS:
        problems.append(("gender", "is not M or F"))
    for column, value in (("full_name", name), ("ward_code", ward), ("household_id", household)):
        if not value:
            problems.append((column, "is empty"))
    for column, value in (
        ("full_name", name),
        ("ward_code", ward),
        ("household_id", household),
        ("priority_category", priority),
    ):
        if len(value) > MAX_LENGTH[column]:
            problems.append((column, f"is longer than {MAX_LENGTH[column]} characters"))
    for column, value in (("lat", lat), ("lon", lon)):
        if value and not _within(value, BOUNDS[column]):
            problems.append(
                (column, f"is not a number between -{BOUNDS[column]:g} and {BOUNDS[column]:g}")
            )
    if bool(lat) != bool(lon):
        problems.append(("lat" if not lat else "lon", "is empty while the other coordinate is not"))
    unfit = _UNFIT.search("".join(fields))
    if unfit is not None:
        undecodable = unfit.group() >= "\udc80"
        problems.append(("row", "is not UTF-8" if undecodable else "has control characters"))
    if problems:
        return None, tuple(problems)
    name = unicodedata.normalize("NFC", name)  # diacritics may arrive decomposed
    return (
        cid,
        name,
        born,
        gender,
        ward,
        household,
        priority or None,
        lat or None,
        lon or None,
    ), ()


def _within(value: str, bound: float) -> bool:
    """A plain decimal (what both PostgreSQL and SQLite read as a float) within ±bound."""
    return _DECIMAL.fullmatch(value) is not None and -bound <= float(value) <= bound


def _column_picker(header: list[str] | None) -> Callable[[list[str]], tuple[str, ...]]:
    if header is None:
        raise RegisterFileError("the file is empty; expected a header line")
    names = [name.strip().lower() for name in header]
    missing = [column for column in COLUMNS if column not in names and column not in OPTIONAL]
    if missing:
        raise RegisterFileError(f"the header lacks the columns: {', '.join(missing)}")
    if all(column in names for column in COLUMNS):
        return itemgetter(*(names.index(column) for column in COLUMNS))
    # An optional column the file lacks reads as an empty field, one past the row's end.
    width = len(names)
    pick = itemgetter(*(names.index(c) if c in names else width for c in COLUMNS))
    return lambda fields: pick([*fields, ""])
