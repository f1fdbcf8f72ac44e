"""Versioned message contracts: the envelope every event and command travels in, and their payloads.

Payloads carry IDs, not personal data, wherever an ID will do. The one exception is the
`submit_application` command: it is how the form reaches the registration service.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate

LEVELS = ("kindergarten", "grade_1", "grade_6")
LANGUAGES = ("vi", "en")
CITIZEN_ID = validate.Regexp(r"^\d{12}$", error="must be 12 digits")
SCHOOL_CODE = validate.Regexp(r"^[A-Z0-9-]{2,20}$", error="is not a school code")


class PoisonMessage(Exception):
    """A message that can never be handled, however often it is retried."""


class EnvelopeSchema(Schema):
    """The envelope: identity, type and version of a message, and its payload."""

    class Meta:
        unknown = RAISE

    event_id = fields.UUID(required=True)
    type = fields.String(required=True, validate=validate.Length(min=1, max=64))
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    occurred_at = fields.AwareDateTime(required=True)
    correlation_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    payload = fields.Dict(required=True)


class ChildSchema(Schema):
    """The child as the parent typed it; the register is checked against this later."""

    class Meta:
        unknown = RAISE

    citizen_id = fields.String(required=True, validate=CITIZEN_ID)
    full_name = fields.String(required=True, validate=validate.Length(min=2, max=120))
    date_of_birth = fields.Date(required=True)


class GuardianSchema(Schema):
    """How to reach the parent, and in which language."""

    class Meta:
        unknown = RAISE

    full_name = fields.String(required=True, validate=validate.Length(min=2, max=120))
    phone = fields.String(
        required=True, validate=validate.Regexp(r"^\+?\d{9,15}$", error="is not a phone number")
    )
    email = fields.Email(required=True)
    language = fields.String(load_default="vi", validate=validate.OneOf(LANGUAGES))


class SubmitApplicationV1(Schema):
    """Command: a parent submitted (or resubmitted) an application for a round."""

    class Meta:
        unknown = RAISE

    reference = fields.String(required=True, validate=validate.Length(min=8, max=32))
    round_id = fields.String(required=True, validate=validate.Length(min=1, max=40))
    child = fields.Nested(ChildSchema, required=True)
    preferences = fields.List(
        fields.String(validate=SCHOOL_CODE),
        required=True,
        validate=validate.Length(min=1, max=10),
    )
    guardian = fields.Nested(GuardianSchema, required=True)
    submitted_at = fields.AwareDateTime(required=True)


class RoundOpenedV1(Schema):
    """Event: the department opened a round; applications are accepted for it."""

    class Meta:
        unknown = EXCLUDE

    round_id = fields.String(required=True)
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    year = fields.Integer(required=True)
    max_preferences = fields.Integer(required=True)


class RoundClosedV1(Schema):
    """Event: the department closed a round; no more submissions or amendments."""

    class Meta:
        unknown = EXCLUDE

    round_id = fields.String(required=True)


class ApplicationReceivedV1(Schema):
    """Event: registration stored a new application."""

    class Meta:
        unknown = EXCLUDE

    reference = fields.String(required=True)
    round_id = fields.String(required=True)
    status = fields.String(required=True)


class ApplicationAmendedV1(Schema):
    """Event: a resubmission replaced an application's preferences or contacts."""

    class Meta:
        unknown = EXCLUDE

    reference = fields.String(required=True)
    round_id = fields.String(required=True)


PAYLOADS: dict[tuple[str, int], type[Schema]] = {
    ("submit_application", 1): SubmitApplicationV1,
    ("round_opened", 1): RoundOpenedV1,
    ("round_closed", 1): RoundClosedV1,
    ("application_received", 1): ApplicationReceivedV1,
    ("application_amended", 1): ApplicationAmendedV1,
}


@dataclass(frozen=True)
class Message:
    """A validated envelope with its payload loaded by the payload's own schema."""

    event_id: str
    type: str
    version: int
    occurred_at: datetime
    correlation_id: str
    payload: dict[str, Any]


def make_message(
    message_type: str,
    payload: dict[str, Any],
    *,
    correlation_id: str | None = None,
    version: int = 1,
) -> dict[str, Any]:
    """Build a wire-ready envelope, checking the payload against its contract first."""
    schema = _payload_schema(message_type, version)
    errors = schema.validate(schema.dump(payload))
    if errors:
        raise ValidationError(errors)
    event_id = str(uuid.uuid4())
    return {
        "event_id": event_id,
        "type": message_type,
        "version": version,
        "occurred_at": datetime.now(UTC).isoformat(),
        "correlation_id": correlation_id or event_id,
        "payload": schema.dump(payload),
    }


def parse_message(body: Any, expected_type: str | None = None) -> Message:
    """Validate an incoming envelope and its payload; anything malformed is poison."""
    try:
        envelope = EnvelopeSchema().load(body)
        if expected_type is not None and envelope["type"] != expected_type:
            raise ValidationError({"type": [f"expected {expected_type}"]})
        payload = _payload_schema(envelope["type"], envelope["version"]).load(envelope["payload"])
    except (ValidationError, TypeError) as exc:
        raise PoisonMessage(f"malformed message: {_describe(exc)}") from exc
    return Message(
        event_id=str(envelope["event_id"]),
        type=envelope["type"],
        version=envelope["version"],
        occurred_at=envelope["occurred_at"],
        correlation_id=envelope["correlation_id"],
        payload=payload,
    )


def _payload_schema(message_type: str, version: int) -> Schema:
    try:
        return PAYLOADS[(message_type, version)]()
    except KeyError:
        raise ValidationError({"type": [f"unknown message {message_type} v{version}"]}) from None


def _describe(exc: Exception) -> str:
    # Field names only: the values may be a child's personal data and must not reach the logs.
    if isinstance(exc, ValidationError) and isinstance(exc.messages, dict):
        return "invalid fields " + ", ".join(sorted(str(key) for key in exc.messages))
    return type(exc).__name__
