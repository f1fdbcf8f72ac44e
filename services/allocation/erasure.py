"""Erasing an applicant's personal data from allocation when registration erased it.

On `application_erased` the copy of the application loses its citizen ID, ward, household,
priority category and the residence's map point; the result row keeps school, status, tiers
and lottery (the counts, shares, cutoffs and waitlists of the round stand) but loses the
citizen ID; the applicant's
row of the results export loses citizen ID, ward, priority category, siblings and location.
The lottery number stays: it orders the waitlists and cutoffs everyone can check, and it is
an HMAC, not the ID. Applying the event twice changes nothing the first did not.
"""

from __future__ import annotations

import csv
import io
import zlib

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.allocation.engine.export import EXPORT_COLUMNS
from services.allocation.models import ExportChunk, Placement, VerifiedApplication
from shared.contracts.envelope import Message

ERASED_EXPORT_COLUMNS = ("citizen_id", "ward", "priority_category", "sibling_schools", "lat", "lon")
_ERASED = [EXPORT_COLUMNS.index(name) for name in ERASED_EXPORT_COLUMNS]


def erase_application(session: Session, message: Message) -> None:
    """Apply `application_erased`: blank the applicant's personal data in every table."""
    reference, round_id = message.payload["reference"], message.payload["round_id"]
    row = session.get(VerifiedApplication, reference, with_for_update=True)
    if row is not None:
        row.citizen_id = row.ward_code = row.household_id = row.priority_category = None
        row.lat = row.lon = None  # the residence's map point
        # A verdict older than the erasure that arrives late must not bring the data back.
        row.as_of = max(row.as_of, message.occurred_at)
    session.execute(update(Placement).where(Placement.reference == reference).values(citizen_id=""))
    chunks = select(ExportChunk).where(ExportChunk.round_id == round_id).with_for_update()
    for chunk in session.scalars(chunks):
        text = zlib.decompress(chunk.data).decode()
        scrubbed = scrub_export(text, reference)
        if scrubbed != text:
            chunk.data = zlib.compress(scrubbed.encode(), 1)


def scrub_export(text: str, reference: str) -> str:
    """One chunk of the export with the personal columns of `reference`'s row emptied."""
    if not text.startswith(f"{reference},") and f"\n{reference}," not in text:
        return text
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for line in text.splitlines(keepends=True):
        if not line.startswith(f"{reference},"):
            buffer.write(line)
            continue
        record = next(csv.reader([line]))
        for index in _ERASED:
            record[index] = ""
        writer.writerow(record)
    return buffer.getvalue()
