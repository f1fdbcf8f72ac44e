"""Erasing one applicant's row of the results export: the personal columns go, the result
and every other row stay as they were."""

from __future__ import annotations

import csv
import io

from services.allocation.engine.export import EXPORT_COLUMNS
from services.allocation.erasure import ERASED_EXPORT_COLUMNS, scrub_export
from tests.unit.allocation.test_export import small_round_text


def _rows(text: str) -> dict[str, dict[str, str]]:
    lines = [line for line in text.splitlines() if not line.startswith("# ")]
    return {row["reference"]: row for row in csv.DictReader(io.StringIO("\n".join(lines)))}


def test_erasing_an_applicant_empties_their_personal_columns_and_keeps_their_result() -> None:
    text = small_round_text()

    scrubbed = scrub_export(text, "R1")

    before, after = _rows(text)["R1"], _rows(scrubbed)["R1"]
    assert before["citizen_id"] and before["ward"] and before["priority_category"]
    assert all(after[column] == "" for column in ERASED_EXPORT_COLUMNS)
    kept = [column for column in EXPORT_COLUMNS if column not in ERASED_EXPORT_COLUMNS]
    assert {c: after[c] for c in kept} == {c: before[c] for c in kept}


def test_erasing_an_applicant_leaves_every_other_line_untouched() -> None:
    text = small_round_text()

    scrubbed = scrub_export(text, "R1")

    changed = [
        (old, new)
        for old, new in zip(text.splitlines(), scrubbed.splitlines(), strict=True)
        if old != new
    ]
    assert len(changed) == 1 and changed[0][0].startswith("R1,")


def test_a_chunk_without_the_applicant_is_returned_as_it_was() -> None:
    text = small_round_text()

    assert scrub_export(text, "R9") is text
    assert scrub_export(text, "R") is text  # a prefix of references is not a reference
