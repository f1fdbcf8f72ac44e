"""The registration database's correction requests, and the register corrections they led to."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, deferred, mapped_column

from services.registration.models import Base
from shared.db.types import UtcDateTime


class CorrectionRequest(Base):
    """A family's request to correct the register, with its evidence (stored here, in the
    same transaction as the request: no file on a web server's disk, no orphan files, and
    every gateway replica serves it through the same access-controlled route)."""

    __tablename__ = "correction_requests"

    request_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), index=True)
    round_id: Mapped[str] = mapped_column(String(40))
    owner_id: Mapped[str | None] = mapped_column(String(64))
    # The rejection reasons (codes) the family asks to cure, as they were when it asked.
    codes: Mapped[list[str]] = mapped_column(JSON)
    # The family's words and the evidence: NULL once the application is erased.
    text: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    evidence_type: Mapped[str] = mapped_column(String(40))
    evidence_bytes: Mapped[int] = mapped_column()
    evidence_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending, approved, refused
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(500))  # a refusal's, for the family
    # The application's status right after the decision (approved: verified or rejected).
    outcome: Mapped[str | None] = mapped_column(String(20))


class RegisterCorrection(Base):
    """One correction written to `register_people` on an approved request: which fields,
    by whom, when (the values themselves are in the register row, not repeated here). A
    later import of the register replaces the row; the department re-applies from here."""

    __tablename__ = "register_corrections"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(36), index=True)
    citizen_id: Mapped[str | None] = mapped_column(String(12))
    fields: Mapped[list[str]] = mapped_column(JSON)
    created: Mapped[bool] = mapped_column()  # the person was added to the register
    corrected_by: Mapped[str | None] = mapped_column(String(64))
    corrected_at: Mapped[datetime] = mapped_column(UtcDateTime)

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape shown to the department."""
        return {"fields": list(self.fields), "created": self.created}
