"""Commitments that prove the draw was not redone: the seed's hash and the inputs' digest.

At close the round's secret seed is fixed and its SHA-256 is published at once. When the
allocation runs (the intake has drained by then: allocate refuses while applications wait
in a queue), the SHA-256 of the verified applications it reads is published too, before
anyone sees a result. At publication the seed itself is revealed. Anyone holding the
export can then check that the revealed seed hashes to the commitment and that the
export's inputs hash to the digest, so neither was changed after a result was seen.

The digest covers each applicant's input columns of the export (`INPUT_COLUMNS`), written
exactly as the export writes them, one CSV record per applicant, sorted by reference. An
applicant with no household and not late is hashed without those two (empty) cells, as
before they existed, so a digest published earlier still verifies.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from collections.abc import Iterable

from services.allocation.engine.model import Applicant

SEPARATOR = "|"
INPUT_COLUMNS = (
    "reference",
    "citizen_id",
    "ward",
    "priority_category",
    "sibling_schools",
    "preferences",
    "lat",
    "lon",
    "household",
    "late",
)
FAMILY_COLUMNS = 2  # the trailing columns an older export has not


def seed_commitment(seed: bytes) -> str:
    """SHA-256 of the seed's bytes, in hex: published at close, long before the seed."""
    return hashlib.sha256(seed).hexdigest()


def seed_matches(seed: bytes, commitment: str) -> bool:
    """Whether a revealed seed is the one committed to (compared in constant time)."""
    return hmac.compare_digest(seed_commitment(seed), commitment.strip().lower())


def input_cells(applicant: Applicant) -> tuple[str, ...]:
    """An applicant's input columns as the export writes them (`INPUT_COLUMNS`)."""
    return (
        applicant.reference,
        applicant.citizen_id,
        applicant.ward,
        applicant.priority_category or "",
        join_codes(applicant.sibling_schools),
        SEPARATOR.join(checked_codes(applicant.preferences)),
        number(applicant.lat),
        number(applicant.lon),
        applicant.household or "",
        "1" if applicant.late else "",
    )


def inputs_digest(applicants: Iterable[Applicant]) -> str:
    """SHA-256 of every applicant's input record, sorted by reference, in hex."""
    digest = hashlib.sha256()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for applicant in sorted(applicants, key=lambda a: a.reference):
        cells = input_cells(applicant)
        if not any(cells[-FAMILY_COLUMNS:]):
            cells = cells[:-FAMILY_COLUMNS]
        writer.writerow(cells)
        digest.update(buffer.getvalue().encode())
        buffer.seek(0)
        buffer.truncate()
    return digest.hexdigest()


def checked_codes(codes: Iterable[str]) -> list[str]:
    """The codes as a list; ValueError if one holds the separator."""
    codes = list(codes)
    if any(SEPARATOR in code for code in codes):
        raise ValueError(f"a code contains {SEPARATOR!r}")
    return codes


def join_codes(codes: Iterable[str]) -> str:
    """A set of codes, sorted and joined."""
    return SEPARATOR.join(sorted(checked_codes(codes)))


def number(value: float | None) -> str:
    """A coordinate as the export writes it; empty when absent."""
    return "" if value is None else repr(value)
