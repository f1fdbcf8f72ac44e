"""Request and response schemas of correction requests (gateway/api/corrections.py)."""

from __future__ import annotations

from typing import Any

from flask_smorest.fields import Upload
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from shared.corrections import REASON_LENGTH, STATUSES, TEXT_LENGTH

WARD = validate.Regexp(r"^[0-9A-Z]{2,10}$", error="is not a ward code")


class CorrectionRequestForm(Schema):
    """A family's request (multipart/form-data): what is wrong, and a photo or PDF as proof."""

    FILE_FIELD = "evidence"

    class Meta:
        unknown = RAISE

    text = fields.String(
        required=True,
        validate=TEXT_LENGTH,
        metadata={"description": "What is wrong in the register, in 10 to 1000 characters."},
    )
    evidence = Upload(
        required=True,
        metadata={"description": "A JPEG or PNG photo, or a PDF, of at most 5 MB."},
    )


class CorrectionView(Schema):
    """A correction request and where it stands."""

    request_id = fields.String(metadata={"example": "6f1c0c7e-8d1e-4f7a-9f51-3b3f0d0f2a11"})
    reference = fields.String()
    round_id = fields.String()
    status = fields.String(metadata={"example": "pending", "enum": list(STATUSES)})
    codes = fields.List(fields.String(), metadata={"example": ["name_mismatch"]})
    text = fields.String(allow_none=True)
    evidence_type = fields.String(metadata={"example": "image/png"})
    evidence_bytes = fields.Integer()
    requested_at = fields.String()
    decided_at = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True, metadata={"example": "verified"})


class RegisterValues(Schema):
    """Register values, as the reviewer corrects them (only those that change)."""

    class Meta:
        unknown = RAISE

    full_name = fields.String(validate=validate.Length(min=2, max=120))
    date_of_birth = fields.Date()
    gender = fields.String(validate=validate.OneOf(("M", "F")))
    ward_code = fields.String(validate=WARD)
    household_id = fields.String(validate=validate.Regexp(r"^[0-9A-Za-z-]{1,20}$"))
    priority_category = fields.String(validate=validate.Length(min=1, max=40))


class ChildClaim(Schema):
    """The child as the family typed it."""

    citizen_id = fields.String(allow_none=True)
    full_name = fields.String(allow_none=True)
    date_of_birth = fields.String(allow_none=True)


class ApplicationFacts(Schema):
    """The application under review."""

    status = fields.String()
    child = fields.Nested(ChildClaim)
    rejection_reasons = fields.List(fields.Dict())


class RegisterFacts(RegisterValues):
    """The register's current values (for the reviewer)."""

    class Meta:
        unknown = RAISE

    date_of_birth = fields.String()  # type: ignore[assignment]
    priority_category = fields.String(allow_none=True)


class RegisterCorrectionView(Schema):
    """A correction an approval wrote to the register: which fields."""

    created = fields.Boolean()
    # Not `fields =`: that name is the schema's own table of fields.
    names = fields.List(fields.String(), attribute="fields", data_key="fields")


class CorrectionReview(CorrectionView):
    """A request for its reviewer: the application, the register, the corrections written."""

    application = fields.Nested(ApplicationFacts)
    register = fields.Nested(RegisterFacts, allow_none=True)
    corrections = fields.List(fields.Nested(RegisterCorrectionView))


class QueueQuery(Schema):
    """Which requests to list."""

    class Meta:
        unknown = RAISE

    status = fields.String(load_default="pending", validate=validate.OneOf(STATUSES))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class DecisionRequest(Schema):
    """Approve (with the corrected register values) or refuse (with a reason for the family)."""

    class Meta:
        unknown = RAISE

    decision = fields.String(required=True, validate=validate.OneOf(("approved", "refused")))
    reason = fields.String(validate=REASON_LENGTH)
    register = fields.Nested(RegisterValues, load_default=dict)

    @validates_schema
    def _refusal_has_a_reason(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("decision") == "refused" and not data.get("reason"):
            raise ValidationError("a refusal needs a reason for the family", "reason")
