"""Request and response schemas of the help points' routes (gateway/api/helpdesk.py) and of the
help desks' accounts (gateway/api/helpdesks.py)."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from gateway.auth.accounts import SCHOOL_CODE, WARD_CODE
from gateway.auth.passwords import MAX_LENGTH, MIN_LENGTH
from gateway.auth.schemas import USERNAME
from gateway.helpdesk import DOCUMENT_KINDS, LAST_DIGITS
from gateway.schemas import SubmitApplicationRequest


class IdentityCheck(Schema):
    """Which paper the officer saw in person: its kind and the last digits of its number
    (never the whole number)."""

    class Meta:
        unknown = RAISE

    document_kind = fields.String(
        required=True, validate=validate.OneOf(DOCUMENT_KINDS), metadata={"example": "passport"}
    )
    last_digits = fields.String(
        required=True,
        validate=validate.Regexp(
            rf"^[0-9A-Z]{{{LAST_DIGITS}}}$", error=f"is the last {LAST_DIGITS} characters"
        ),
        metadata={"example": "0123"},
    )


class HelpPointApplicationRequest(SubmitApplicationRequest):
    """An application a help desk registers for a family, with the identity check it made."""

    identity = fields.Nested(IdentityCheck, required=True)


class HelpPointApplication(Schema):
    """An application registered at this help point, as the officer follows it."""

    reference = fields.String(metadata={"example": "TSABCDEFGHIJKLMNOP"})
    round_id = fields.String()
    status = fields.String(metadata={"description": "`received` until registration stored it"})
    registered_at = fields.String()
    document_kind = fields.String()
    document_last_digits = fields.String()
    child_name = fields.String(allow_none=True)
    preferences = fields.List(fields.String())
    rejection_reasons = fields.List(fields.Dict(), allow_none=True)
    school_code = fields.String(
        allow_none=True, metadata={"description": "once published: the school placed at"}
    )


class NewHelpDesk(Schema):
    """A help desk account: bound to exactly one school or one ward."""

    class Meta:
        unknown = RAISE

    username = fields.String(required=True, validate=USERNAME, metadata={"example": "hotro.p4"})
    password = fields.String(
        required=True, load_only=True, validate=validate.Length(min=MIN_LENGTH, max=MAX_LENGTH)
    )
    school_code = fields.String(validate=validate.Regexp(SCHOOL_CODE), load_default=None)
    ward_code = fields.String(
        validate=validate.Regexp(WARD_CODE), load_default=None, metadata={"example": "00004"}
    )

    @validates_schema
    def _one_binding(self, data: dict[str, Any], **_: Any) -> None:
        if bool(data.get("school_code")) == bool(data.get("ward_code")):
            raise ValidationError("give either school_code or ward_code", "school_code")


class HelpDeskView(Schema):
    """A help desk account."""

    account_id = fields.String()
    username = fields.String()
    school_code = fields.String(allow_none=True)
    ward_code = fields.String(allow_none=True)
    created_at = fields.String()
    disabled = fields.Boolean()
