"""Request and response schemas: they validate requests and generate the OpenAPI spec."""

from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates

from shared.contracts.common import SCHOOL_CODE, ChildSchema, GuardianSchema


class SubmitApplicationRequest(Schema):
    """A parent's application: the child, ranked school choices and how to reach them."""

    class Meta:
        unknown = RAISE  # clients cannot set status, school or anything not theirs

    round_id = fields.String(required=True, validate=validate.Length(min=1, max=40))
    child = fields.Nested(ChildSchema, required=True)
    preferences = fields.List(
        fields.String(validate=SCHOOL_CODE), required=True, validate=validate.Length(min=1, max=10)
    )
    guardian = fields.Nested(GuardianSchema, required=True)

    @validates("preferences")
    def _unique(self, value: list[str], **_: object) -> None:
        if len(set(value)) != len(value):
            raise ValidationError("each school may be chosen once")


class ApplicationAccepted(Schema):
    """202: the broker holds the application; its reference is the parent's receipt."""

    reference = fields.String(metadata={"example": "TSABCDEFGHIJKLMNOP"})
    status = fields.String(metadata={"example": "received"})


class ApplicationView(Schema):
    """An application as its family sees it."""

    reference = fields.String()
    round_id = fields.String()
    status = fields.String()
    preferences = fields.List(fields.String())
    submitted_at = fields.String()
    updated_at = fields.String()
    ward_code = fields.String(allow_none=True, metadata={"description": "from the register"})
    help_point = fields.String(
        allow_none=True,
        metadata={"description": "registered for the family at a help point: `ward:CODE`"},
    )
    rejection_reasons = fields.List(
        fields.Dict(), allow_none=True, metadata={"description": "field, code, message_vi/en"}
    )
    erasure_requested_at = fields.String(allow_none=True)
    erased_at = fields.String(
        allow_none=True, metadata={"description": "set once the personal data was erased"}
    )
    refusal = fields.Dict(
        allow_none=True,
        metadata={
            "description": "the last change answered 202 and refused later: what (submission,"
            " amendment, withdrawal), code (round_closed, round_not_open), message_vi/en, at;"
            " a refused submission has status `refused`"
        },
    )
    child = fields.Dict()
    guardian = fields.Dict()
    late = fields.Boolean(
        metadata={
            "description": "accepted by the department after close (placed after every"
            " on-time application)"
        }
    )
    late_reason = fields.String(allow_none=True, metadata={"description": "why it was accepted"})
    result = fields.Dict(
        allow_none=True,
        metadata={
            "description": "once the round is published: placement, offer (deadline, status),"
            " waitlist positions and the explanation (tier, lottery number and cutoff at each"
            " preference); `placement.pool` (general or reserved seats) and `late`; null before"
        },
    )


class AccountErasure(Schema):
    """202: the account is erased; its applications' erasure is under way."""

    status = fields.String(metadata={"example": "erasure_requested"})
    applications = fields.Integer(metadata={"description": "applications asked to be erased"})


class RoundView(Schema):
    """A round open for applications."""

    round_id = fields.String()
    level = fields.String()
    year = fields.Integer()
    status = fields.String()
    max_preferences = fields.Integer()
    practice = fields.Boolean(metadata={"description": "a department's rehearsal, not real"})
    opened_at = fields.String(allow_none=True)
    opens_at = fields.String(allow_none=True, metadata={"description": "accepted from"})
    closes_at = fields.String(
        allow_none=True, metadata={"description": "accepted until (null: not scheduled yet)"}
    )


class ErrorDetail(Schema):
    """What went wrong: a stable code, a sentence for people, and per-field messages."""

    code = fields.String(required=True, metadata={"example": "not_found"})
    message = fields.String(required=True, metadata={"example": "No such application."})
    field_errors = fields.Dict(
        required=True, data_key="fields", metadata={"description": "field name: messages"}
    )


class ErrorBody(Schema):
    """`{"error": {"code", "message", "fields"}}`: every failure, on every route."""

    error = fields.Nested(ErrorDetail, required=True)


class SchoolView(Schema):
    """A school, its seats and the ward codes it serves."""

    code = fields.String(metadata={"example": "TH-0001"})
    name = fields.String()
    level = fields.String()
    capacity = fields.Integer()
    ward_code = fields.String()
    catchment = fields.List(fields.String())


class WardView(Schema):
    """A ward's official code and name."""

    code = fields.String(metadata={"example": "00004"})
    name = fields.String(metadata={"example": "Phường Ba Đình"})


class CatchmentView(Schema):
    """The schools of one level that serve one ward."""

    ward = fields.Nested(WardView)
    level = fields.String()
    schools = fields.List(fields.Nested(SchoolView))
