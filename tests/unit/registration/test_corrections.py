"""Correction requests' pure rules: which evidence is accepted, who may ask, what an approval
writes to the register."""

from __future__ import annotations

from datetime import date

import pytest

from services.registration.corrections.rules import (
    RegisterChange,
    filing_refusal,
    register_change,
    register_codes,
)
from services.registration.register.records import RegisterRecord
from shared.corrections import MAX_EVIDENCE_BYTES, evidence_problems, evidence_type

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"\x00" * 64
NAME = [{"code": "name_mismatch", "field": "child.full_name"}]
RECORD = RegisterRecord(
    citizen_id="001221000123",
    full_name="Nguyễn Văn An",
    date_of_birth=date(2021, 3, 4),
    gender="M",
    ward_code="00004",
    household_id="HH1",
    priority_category=None,
)


@pytest.mark.parametrize(
    ("data", "media_type"), [(PNG, "image/png"), (JPEG, "image/jpeg"), (PDF, "application/pdf")]
)
def test_evidence_type_is_read_from_the_bytes(data: bytes, media_type: str) -> None:
    assert evidence_type(data) == media_type
    assert evidence_problems(data) == []


@pytest.mark.parametrize(
    "data",
    [
        b"<html><script>alert(1)</script></html>",
        b"GIF89a" + b"\x00" * 10,
        b"MZ\x90\x00 an executable named photo.png",
        b"%PD",  # a PDF's magic cut short
    ],
)
def test_anything_but_a_jpeg_png_or_pdf_is_refused_whatever_its_name(data: bytes) -> None:
    assert evidence_type(data) is None
    assert evidence_problems(data) == ["the file is not a JPEG or PNG photo, nor a PDF"]


def test_an_empty_or_too_large_file_is_refused() -> None:
    assert evidence_problems(b"") == ["the file is empty"]
    assert evidence_problems(PNG + b"\x00" * MAX_EVIDENCE_BYTES) == ["the file is larger than 5 MB"]
    assert evidence_problems(PNG.ljust(MAX_EVIDENCE_BYTES, b"\x00")) == []


def test_only_the_register_reasons_can_be_corrected() -> None:
    reasons = [
        {"code": "wrong_level", "field": "preferences.1"},
        {"code": "birth_date_mismatch", "field": "child.date_of_birth"},
        {"code": "name_mismatch", "field": "child.full_name"},
        {"code": "birth_date_mismatch", "field": "child.date_of_birth"},
    ]

    assert register_codes(reasons) == ["birth_date_mismatch", "name_mismatch"]
    assert register_codes(None) == []


@pytest.mark.parametrize(
    ("status", "reasons", "round_open", "pending", "refusal"),
    [
        ("rejected", NAME, True, False, None),
        ("verified", None, True, False, "not_rejected_by_register"),
        (
            "rejected",
            [{"code": "wrong_level", "field": "preferences.1"}],
            True,
            False,
            "not_rejected_by_register",
        ),
        ("rejected", NAME, False, False, "round_closed"),
        ("rejected", NAME, True, True, "request_pending"),
    ],
)
def test_who_may_ask_for_a_correction(
    status: str,
    reasons: list[dict[str, str]] | None,
    round_open: bool,
    pending: bool,
    refusal: str | None,
) -> None:
    assert filing_refusal(status, reasons, round_open, pending) == refusal


def test_an_approval_writes_only_the_fields_that_differ() -> None:
    change = register_change(
        RECORD, RECORD.citizen_id, {"full_name": "Nguyễn Văn Ân", "ward_code": "00004"}
    )

    assert change == RegisterChange({"full_name": "Nguyễn Văn Ân"}, ("full_name",), False)


def test_an_approval_that_changes_nothing_is_refused() -> None:
    assert register_change(RECORD, RECORD.citizen_id, {"full_name": RECORD.full_name}) == {
        "register": ["nothing differs from the register: give the corrected values"]
    }


def test_a_child_missing_from_the_register_needs_every_field_of_a_person() -> None:
    given = {"full_name": "Lê Thị Hoa", "date_of_birth": date(2021, 5, 6)}

    refused = register_change(None, "001221000999", given)
    added = register_change(
        None, "001221000999", {**given, "gender": "F", "ward_code": "00007", "household_id": "H9"}
    )

    assert refused == {
        f"register.{name}": ["needed to add the child to the register"]
        for name in ("gender", "ward_code", "household_id")
    }
    assert isinstance(added, RegisterChange) and added.created
    assert added.values["citizen_id"] == "001221000999"
    assert added.fields == ("date_of_birth", "full_name", "gender", "household_id", "ward_code")
