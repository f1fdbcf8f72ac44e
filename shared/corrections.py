"""Correction requests: what a family may send as evidence, and the events about a request.

A family whose application was rejected because of the population register (not in it, or
a name or birth date that does not match) asks the department to correct the register,
with a short text and a photo or PDF as evidence. The evidence's type is read from its
first bytes (its magic number), never from its name or the Content-Type the browser sent.
Events carry IDs, and a refusal's reason as the reviewer wrote it; never the evidence.
"""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

MAX_EVIDENCE_BYTES = 5 * 1024 * 1024
TEXT_LENGTH = validate.Length(min=10, max=1000)
REASON_LENGTH = validate.Length(min=2, max=500)
# The rejection reasons a register correction can cure (registration/verification/rules.py).
CORRECTABLE_CODES = frozenset({"not_in_register", "name_mismatch", "birth_date_mismatch"})
DECISIONS = ("approved", "refused")
STATUSES = ("pending", *DECISIONS)
# Media type -> (file extension, the first bytes every such file starts with).
EVIDENCE_TYPES: dict[str, tuple[str, bytes]] = {
    "image/jpeg": ("jpg", b"\xff\xd8\xff"),
    "image/png": ("png", b"\x89PNG\r\n\x1a\n"),
    "application/pdf": ("pdf", b"%PDF-"),
}


def evidence_type(data: bytes) -> str | None:
    """The media type the bytes really are (JPEG, PNG or PDF), or None for anything else."""
    for media_type, (_, magic) in EVIDENCE_TYPES.items():
        if data.startswith(magic):
            return media_type
    return None


def evidence_problems(data: bytes) -> list[str]:
    """Why a file cannot be evidence (empty, too large, not a JPEG, PNG or PDF); [] if it can."""
    if not data:
        return ["the file is empty"]
    if len(data) > MAX_EVIDENCE_BYTES:
        return [f"the file is larger than {MAX_EVIDENCE_BYTES // (1024 * 1024)} MB"]
    if evidence_type(data) is None:
        return ["the file is not a JPEG or PNG photo, nor a PDF"]
    return []


class CorrectionRequestedV1(Schema):
    """Event: a family asked for a register correction of a rejected application."""

    class Meta:
        unknown = EXCLUDE

    reference = fields.String(required=True)
    round_id = fields.String(required=True)
    request_id = fields.String(required=True)


class CorrectionDecidedV1(Schema):
    """Event: the department approved (the application is checked again) or refused a
    correction request; a refusal carries the reviewer's reason, shown to the family."""

    class Meta:
        unknown = EXCLUDE

    reference = fields.String(required=True)
    round_id = fields.String(required=True)
    request_id = fields.String(required=True)
    decision = fields.String(required=True, validate=validate.OneOf(DECISIONS))
    reason = fields.String(load_default=None, allow_none=True, validate=REASON_LENGTH)
