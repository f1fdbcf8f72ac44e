"""Reading the register CSV: what counts as a bad row, and what is said about it."""

from __future__ import annotations

import io

import pytest

from services.registration.register.csv_rows import (
    BadRow,
    ByteCountingLines,
    RegisterFileError,
    Row,
    read_rows,
)

HEADER = b"citizen_id,full_name,date_of_birth,gender,ward_code,household_id,priority_category\n"
GOOD = "001221000001,Nguyễn Văn An,2021-03-04,M,00070,HN0000000001,\n".encode()


def read(data: bytes) -> tuple[list[Row], list[BadRow]]:
    """The good rows and the bad ones of a file's bytes."""
    bad: list[BadRow] = []
    rows = list(read_rows(ByteCountingLines(io.BytesIO(data)), bad.append))
    return rows, bad


def test_a_good_row_comes_back_clean_with_an_empty_priority_as_none() -> None:
    rows, bad = read(HEADER + GOOD)

    assert rows == [
        ("001221000001", "Nguyễn Văn An", "2021-03-04", "M", "00070", "HN0000000001")
        + (None, None, None)  # no priority; the file has no coordinate columns
    ]
    assert bad == []


def test_a_byte_order_mark_and_windows_line_ends_are_accepted() -> None:
    rows, _ = read(b"\xef\xbb\xbf" + HEADER.replace(b"\n", b"\r\n") + GOOD.replace(b"\n", b"\r\n"))

    assert len(rows) == 1


def test_columns_may_come_in_any_order_and_extra_columns_are_ignored() -> None:
    header = (
        b"note,gender,citizen_id,full_name,date_of_birth,ward_code,household_id,priority_category\n"
    )
    line = "x,F,001321000002,Trần Thị Bình,2021-05-06,00073,HN0000000002,ho_ngheo\n".encode()

    rows, bad = read(header + line)

    assert rows == [
        ("001321000002", "Trần Thị Bình", "2021-05-06", "F", "00073", "HN0000000002")
        + ("ho_ngheo", None, None)
    ]
    assert bad == []


def test_a_line_that_is_not_utf8_is_a_bad_row_and_the_rest_is_read() -> None:
    broken = "001221000003,Lê Văn Cường,2021-01-01,M,00070,HN1,\n".encode("cp1258", "replace")

    rows, bad = read(HEADER + broken + GOOD)

    assert [row.describe() for row in bad] == ["line 2: row is not UTF-8"]
    assert len(rows) == 1


def test_a_nul_byte_is_a_bad_row_and_the_rest_is_read() -> None:
    rows, bad = read(HEADER + b"001221000004,A\x00B,2021-01-01,M,1,2,\n" + GOOD)

    assert [row.describe() for row in bad] == ["line 2: row has control characters"]
    assert len(rows) == 1


def test_values_longer_than_their_columns_are_bad_rows() -> None:
    line = f"001221000001,{'A' * 121},2021-03-04,M,00070,{'H' * 21},\n".encode()

    _, bad = read(HEADER + line)

    assert [row.describe() for row in bad] == [
        "line 2: full_name is longer than 120 characters; household_id is longer than 20 characters"
    ]


def test_a_quoted_comma_is_part_of_the_name() -> None:
    rows, bad = read(HEADER + '001221000005,"Phạm, Thị Hà",2021-03-04,F,00070,HN5,\n'.encode())

    assert (rows[0][1], bad) == ("Phạm, Thị Hà", [])


def test_a_record_spanning_lines_is_bad_and_later_line_numbers_stay_right() -> None:
    quoted = '001221000005,"Phạm Thị\nHà",2021-03-04,F,00070,HN5,\n'.encode()

    _, bad = read(HEADER + quoted + GOOD + b"bad,row\n")

    assert [row.describe() for row in bad] == [
        "line 3: row has control characters",
        "line 5: row has 2 fields",
    ]


@pytest.mark.parametrize("data", [b"", b"citizen_id,full_name\n"])
def test_a_file_without_a_full_header_cannot_be_imported(data: bytes) -> None:
    with pytest.raises(RegisterFileError):
        read(data)


def test_the_residences_point_is_read_when_the_file_has_it() -> None:
    header = HEADER.replace(b"\n", b",lat,lon\n")
    located = GOOD.replace(b",\n", b",,21.028511,105.804817\n")
    half = GOOD.replace(b",\n", b",,,105.8\n")

    rows, bad = read(header + located + half)

    assert [row[-2:] for row in rows] == [("21.028511", "105.804817")]
    assert [row.describe() for row in bad] == [
        "line 3: lat is empty while the other coordinate is not"
    ]
