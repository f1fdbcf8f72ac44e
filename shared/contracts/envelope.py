"""The envelope every event and command travels in, and loading a message by its contract.

The contracts themselves live with the service that publishes them (`shared.contracts.
registration`, `shared.contracts.allocation`); `PAYLOADS` is every one of them by (type,
version).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from shared.contracts import allocation, registration

PAYLOADS: dict[tuple[str, int], type[Schema]] = {**registration.PAYLOADS, **allocation.PAYLOADS}


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
    check: bool = True,
) -> dict[str, Any]:
    """Build a wire-ready envelope, checking the payload against its contract first.

    `check=False` skips the second pass only where the payload was loaded a moment ago by a
    schema with the same fields (the gateway's submission, at the peak); its consumer still
    checks it on arrival, so a malformed message is dead-lettered, never silently taken.
    """
    # Imported here: the reader and the writer use this module's own definitions.
    from shared.contracts.reading import conforms
    from shared.contracts.writing import dump_payload

    schema = _payload_schema(message_type, version)
    # The contract's plan dumps plain values exactly as marshmallow would, at a fraction of
    # its CPU; anything else is marshmallow's (shared/contracts/writing.py).
    dumped = dump_payload(message_type, version, payload)
    if dumped is None:
        dumped = schema.dump(payload)
    # What the contract's plan accepts needs no second opinion (registration stages two
    # events per application, and marshmallow's validate was a twentieth of its CPU);
    # anything else is marshmallow's to judge, and a malformed payload still raises.
    checked = not check or conforms(message_type, version, dumped)
    errors = None if checked else schema.validate(dumped)
    if errors:
        raise ValidationError(errors)
    event_id = str(uuid.uuid4())
    return {
        "event_id": event_id,
        "type": message_type,
        "version": version,
        "occurred_at": datetime.now(UTC).isoformat(),
        "correlation_id": correlation_id or event_id,
        "payload": dumped,
    }


def parse_message(body: Any, expected_type: str | None = None) -> Message:
    """Validate an incoming envelope and its payload; anything malformed is poison."""
    try:
        envelope = _ENVELOPE.load(body)
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


# One instance per schema: building a marshmallow schema copies its fields, which cost more
# than the load itself at thousands of messages a second. Loading and dumping are stateless.
_ENVELOPE = EnvelopeSchema()
_INSTANCES: dict[tuple[str, int], Schema] = {}


def _payload_schema(message_type: str, version: int) -> Schema:
    try:
        schema = _INSTANCES.get((message_type, version))
        if schema is None:
            schema = _INSTANCES[(message_type, version)] = PAYLOADS[(message_type, version)]()
        return schema
    except KeyError:
        raise ValidationError({"type": [f"unknown message {message_type} v{version}"]}) from None


def _describe(exc: Exception) -> str:
    # Field names only: the values may be a child's personal data and must not reach the logs.
    if isinstance(exc, ValidationError) and isinstance(exc.messages, dict):
        return "invalid fields " + ", ".join(sorted(str(key) for key in exc.messages))
    return type(exc).__name__
