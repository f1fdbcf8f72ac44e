"""A prototype contract for the offer-expiry reminder, until `shared.events` carries it.

Proposed for `shared.events.PAYLOADS` as `("offer_expiring", 1): OfferExpiringV1`, emitted by
allocation (through its outbox) once per offer, some hours before the deadline. Once shared
has it, `parse_offer_expiring` simply defers to `shared.events.parse_message`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields

from shared.events import PAYLOADS, EnvelopeSchema, Message, PoisonMessage, make_message

OFFER_EXPIRING = "offer_expiring"


class OfferExpiringV1(Schema):
    """Event: an offer still has no answer and its deadline is near."""

    class Meta:
        unknown = EXCLUDE

    reference = fields.String(required=True)
    round_id = fields.String(required=True)
    school_code = fields.String(required=True)
    deadline = fields.AwareDateTime(required=True)


def parse_offer_expiring(body: Any) -> Message:
    """Validate an `offer_expiring` envelope; anything malformed is poison."""
    if (OFFER_EXPIRING, 1) in PAYLOADS:
        from shared.events import parse_message

        return parse_message(body, OFFER_EXPIRING)
    try:
        envelope = EnvelopeSchema().load(body)
        if envelope["type"] != OFFER_EXPIRING or envelope["version"] != 1:
            raise ValidationError({"type": [f"expected {OFFER_EXPIRING} v1"]})
        payload = OfferExpiringV1().load(envelope["payload"])
    except (ValidationError, TypeError) as exc:
        raise PoisonMessage("malformed offer_expiring message") from exc
    return Message(
        event_id=str(envelope["event_id"]),
        type=envelope["type"],
        version=envelope["version"],
        occurred_at=envelope["occurred_at"],
        correlation_id=envelope["correlation_id"],
        payload=payload,
    )


def offer_expiring_message(payload: dict[str, Any]) -> dict[str, Any]:
    """A wire-ready `offer_expiring` envelope (for the publisher, and for tests)."""
    if (OFFER_EXPIRING, 1) in PAYLOADS:
        return make_message(OFFER_EXPIRING, payload)
    schema = OfferExpiringV1()
    errors = schema.validate(schema.dump(payload))
    if errors:
        raise ValidationError(errors)
    event_id = str(uuid.uuid4())
    return {
        "event_id": event_id,
        "type": OFFER_EXPIRING,
        "version": 1,
        "occurred_at": datetime.now(UTC).isoformat(),
        "correlation_id": event_id,
        "payload": schema.dump(payload),
    }
