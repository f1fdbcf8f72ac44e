"""Versioned message contracts: the envelope every event and command travels in, and their payloads.

Payloads carry IDs, not personal data, wherever an ID will do. The one exception is the
`submit_application` command: it is how the form reaches the registration service.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate

from shared.corrections import CorrectionDecidedV1, CorrectionRequestedV1

LEVELS = ("kindergarten", "grade_1", "grade_6")
LANGUAGES = ("vi", "en")
CITIZEN_ID = validate.Regexp(r"^\d{12}$", error="must be 12 digits")
LATITUDE = validate.Range(min=-90, max=90)
LONGITUDE = validate.Range(min=-180, max=180)
SCHOOL_CODE = validate.Regexp(r"^[A-Z0-9-]{2,20}$", error="is not a school code")
# A practice (trial) round's id starts with this, so it can never be a real round's id and
# every service and page can tell one apart by its id alone.
PRACTICE_PREFIX = "practice-"


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


class SubmissionAuditV1(Schema):
    """The audit entry of a submission the gateway answered 202: who, from where, under which
    correlation ID, when. Registration appends it in the transaction that stores the
    application (IDs only: never a name, birth date or citizen ID)."""

    class Meta:
        unknown = RAISE

    action = fields.String(required=True, validate=validate.Length(max=64))
    actor_id = fields.String(required=True, validate=validate.Length(max=36))
    role = fields.String(required=True, validate=validate.Length(max=16))
    ip = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=45))
    at = fields.AwareDateTime(required=True)


class LateAcceptanceV1(Schema):
    """The department accepted an application after close: why, and which account did."""

    class Meta:
        unknown = RAISE

    reason = fields.String(required=True, validate=validate.Length(min=5, max=500))
    accepted_by = fields.String(required=True, validate=validate.Length(min=1, max=64))


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
    # The parent's account that submitted it: only that account may see or change it.
    owner_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    # The request's audit entry, written with the application (absent from older gateways).
    audit = fields.Nested(SubmissionAuditV1, load_default=None, allow_none=True)
    # Registered by a help desk for a family without an account: where (`ward:CODE` or
    # `school:CODE`, never the officer); the guardian's receipt then says how to take over.
    help_point = fields.String(
        load_default=None, allow_none=True, validate=validate.Regexp(r"^(ward|school):[A-Z0-9-]+$")
    )
    # Set only by the department's late-application route (never by a parent's submission):
    # accepted after close, with the reason it recorded.
    late = fields.Nested(LateAcceptanceV1, load_default=None, allow_none=True)


class RoundOpenedV1(Schema):
    """Event: the department opened a round; applications are accepted for it."""

    class Meta:
        unknown = EXCLUDE

    round_id = fields.String(required=True)
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    year = fields.Integer(required=True)
    max_preferences = fields.Integer(required=True)
    practice = fields.Boolean(load_default=False)
    # The window: submissions stamped in [opens_at, closes_at) count (None: not bounded).
    opens_at = fields.AwareDateTime(load_default=None, allow_none=True)
    closes_at = fields.AwareDateTime(load_default=None, allow_none=True)


class RoundWindowV1(Schema):
    """Event: a round's window changed (`round_window_changed`: the department scheduled the
    close), or it ended (`round_closed`: no more submissions or amendments)."""

    class Meta:
        unknown = EXCLUDE

    round_id = fields.String(required=True)
    opens_at = fields.AwareDateTime(load_default=None, allow_none=True)
    closes_at = fields.AwareDateTime(load_default=None, allow_none=True)


class RoundDiscardedV1(Schema):
    """Event: the department wiped a practice round; every service forgets all of it."""

    class Meta:
        unknown = EXCLUDE

    round_id = fields.String(
        required=True, validate=validate.Regexp(f"^{PRACTICE_PREFIX}", error="not a practice round")
    )


class ApplicationReceivedV1(Schema):
    """Event: registration stored a new application."""

    class Meta:
        unknown = EXCLUDE

    reference = fields.String(required=True)
    round_id = fields.String(required=True)
    status = fields.String(required=True)
    # Checked in the same transaction: the verdict travels with the receipt, so the family
    # gets one notice ("received and checked") in the right order, not two that may cross.
    verdict = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(("verified", "rejected"))
    )
    reasons = fields.List(fields.Nested(lambda: ReasonSchema()), load_default=None, allow_none=True)
    # Registered at a help point for a family without an account (`ward:CODE`, `school:CODE`).
    help_point = fields.String(load_default=None, allow_none=True)


class ApplicationAmendedV1(Schema):
    """Event: a resubmission replaced an application's preferences or contacts."""

    class Meta:
        unknown = EXCLUDE

    reference = fields.String(required=True)
    round_id = fields.String(required=True)


class ApplicationRefV1(Schema):
    """Payload of events that only need to say which application: withdrawn, refused, ..."""

    class Meta:
        unknown = EXCLUDE

    reference = fields.String(required=True)
    round_id = fields.String(required=True)


REFUSAL_REASONS = ("round_closed", "round_not_open", "holds_a_place")
REFUSED_CHANGES = ("submission", "amendment", "withdrawal", "erasure")


class ApplicationRefusedV1(Schema):
    """Event: something the gateway had answered 202 for was refused later; what and why."""

    class Meta:
        unknown = EXCLUDE

    reference = fields.String(required=True)
    round_id = fields.String(required=True)
    reason = fields.String(load_default="round_closed", validate=validate.OneOf(REFUSAL_REASONS))
    what = fields.String(load_default="submission", validate=validate.OneOf(REFUSED_CHANGES))


class WithdrawApplicationV1(Schema):
    """Command: the parent withdrew an application while the round is open."""

    class Meta:
        unknown = RAISE

    reference = fields.String(required=True, validate=validate.Length(min=8, max=32))
    round_id = fields.String(required=True, validate=validate.Length(min=1, max=40))


# Statuses whose application may be erased once its round has closed: the child holds no
# seat and no waitlist place (while the round is open, any application may: it is withdrawn).
ERASABLE_STATUSES = frozenset(
    {"withdrawn", "rejected", "refused", "unplaced", "declined", "expired", "school_rejected"}
)


class RequestErasureV1(Schema):
    """Command: the parent asked for their child's personal data in an application to be
    erased (the application is withdrawn first if its round is still open)."""

    class Meta:
        unknown = RAISE

    reference = fields.String(required=True, validate=validate.Length(min=8, max=32))
    round_id = fields.String(required=True, validate=validate.Length(min=1, max=40))


class SchoolEntrySchema(Schema):
    """A school as other services need to know it: its code and level, nothing else."""

    code = fields.String(required=True, validate=SCHOOL_CODE)
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))


class SchoolDirectoryUpdatedV1(Schema):
    """Event: allocation's schools changed; this is the whole directory (code and level)."""

    class Meta:
        unknown = EXCLUDE

    schools = fields.List(fields.Nested(SchoolEntrySchema), required=True)


class ApplicationVerifiedV1(Schema):
    """Event: the application matches the register; what allocation needs to place the child.

    The citizen ID travels here because the published lottery is HMAC(seed, citizen ID): the
    allocation service must compute it, and anyone must be able to recompute it. The name,
    birth date and address do not travel; the residence ward is a ward code from the register.
    `lat`/`lon` are the register's geocoded point of the residence, when it has one: a round
    that breaks ties by distance needs it (absent, the child's distance counts as unknown).
    """

    class Meta:
        unknown = EXCLUDE

    reference = fields.String(required=True)
    round_id = fields.String(required=True)
    citizen_id = fields.String(required=True, validate=CITIZEN_ID)
    ward_code = fields.String(required=True)
    household_id = fields.String(required=True)
    priority_category = fields.String(load_default=None, allow_none=True)
    preferences = fields.List(fields.String(validate=SCHOOL_CODE), required=True)
    lat = fields.Float(load_default=None, allow_none=True, validate=LATITUDE)
    lon = fields.Float(load_default=None, allow_none=True, validate=LONGITUDE)
    # True when `application_received` carried this verdict (the family was told with it).
    with_receipt = fields.Boolean(load_default=False)
    # Accepted by the department after close: placed after every on-time application.
    late = fields.Boolean(load_default=False)


class ReasonSchema(Schema):
    """One reason an application was rejected: which field, and a stable code."""

    field = fields.String(required=True)
    code = fields.String(required=True)


class ApplicationRejectedV1(Schema):
    """Event: verification failed; the reasons are codes per field, never values."""

    class Meta:
        unknown = EXCLUDE

    reference = fields.String(required=True)
    round_id = fields.String(required=True)
    reasons = fields.List(fields.Nested(ReasonSchema), required=True)
    with_receipt = fields.Boolean(load_default=False)


class SeatOfferedV1(Schema):
    """Event: the child is offered a seat at a school, to answer before the deadline."""

    class Meta:
        unknown = EXCLUDE

    reference = fields.String(required=True)
    round_id = fields.String(required=True)
    school_code = fields.String(required=True)
    preference_rank = fields.Integer(load_default=None, allow_none=True)  # None: guarantee
    deadline = fields.AwareDateTime(required=True)
    moved_from = fields.String(load_default=None, allow_none=True)  # set on a waitlist move


class WaitlistPositionSchema(Schema):
    """The child's place on one school's waitlist."""

    school_code = fields.String(required=True)
    position = fields.Integer(required=True)


class ApplicationWaitlistedV1(Schema):
    """Event: the child waits for a better-ranked school (and may hold a seat elsewhere)."""

    class Meta:
        unknown = EXCLUDE

    reference = fields.String(required=True)
    round_id = fields.String(required=True)
    positions = fields.List(fields.Nested(WaitlistPositionSchema), required=True)


class ApplicationUnplacedV1(Schema):
    """Event: no seat for the child in this round, and why."""

    class Meta:
        unknown = EXCLUDE

    reference = fields.String(required=True)
    round_id = fields.String(required=True)
    # already_placed: a later round's applicant who holds a seat from an earlier round.
    reason = fields.String(
        required=True,
        validate=validate.OneOf(("catchment_full", "no_catchment_school", "already_placed")),
    )


class SeatEventV1(Schema):
    """Payload of the events about one child's seat at one school (accepted, declined, ...)."""

    class Meta:
        unknown = EXCLUDE

    reference = fields.String(required=True)
    round_id = fields.String(required=True)
    school_code = fields.String(required=True)
    reason = fields.String(load_default=None, allow_none=True)  # school_rejected only


class RoundJobRequestedV1(Schema):
    """Event (allocation to itself): run the allocate or publish job of a round, off the RPC."""

    class Meta:
        unknown = EXCLUDE

    round_id = fields.String(required=True)
    job = fields.String(required=True, validate=validate.OneOf(("allocate", "publish")))


class OfferExpiringV1(Schema):
    """Event: an offer is still unanswered and its deadline is near (a reminder is due)."""

    class Meta:
        unknown = EXCLUDE

    reference = fields.String(required=True)
    round_id = fields.String(required=True)
    school_code = fields.String(required=True)
    deadline = fields.AwareDateTime(required=True)


PAYLOADS: dict[tuple[str, int], type[Schema]] = {
    ("correction_requested", 1): CorrectionRequestedV1,
    ("correction_decided", 1): CorrectionDecidedV1,
    ("submit_application", 1): SubmitApplicationV1,
    ("withdraw_application", 1): WithdrawApplicationV1,
    ("round_opened", 1): RoundOpenedV1,
    ("round_closed", 1): RoundWindowV1,
    ("round_window_changed", 1): RoundWindowV1,
    ("round_discarded", 1): RoundDiscardedV1,
    ("school_directory_updated", 1): SchoolDirectoryUpdatedV1,
    ("application_received", 1): ApplicationReceivedV1,
    ("application_amended", 1): ApplicationAmendedV1,
    ("application_withdrawn", 1): ApplicationRefV1,
    ("application_refused", 1): ApplicationRefusedV1,
    ("request_erasure", 1): RequestErasureV1,
    ("application_erased", 1): ApplicationRefV1,
    ("application_verified", 1): ApplicationVerifiedV1,
    ("application_rejected", 1): ApplicationRejectedV1,
    ("seat_offered", 1): SeatOfferedV1,
    ("application_waitlisted", 1): ApplicationWaitlistedV1,
    ("application_unplaced", 1): ApplicationUnplacedV1,
    ("offer_accepted", 1): SeatEventV1,
    ("offer_declined", 1): SeatEventV1,
    ("offer_expired", 1): SeatEventV1,
    ("offer_expiring", 1): OfferExpiringV1,
    ("enrollment_confirmed", 1): SeatEventV1,
    ("school_rejected", 1): SeatEventV1,
    ("round_job_requested", 1): RoundJobRequestedV1,
}


ROUND_ID = re.compile(
    r"^(?P<practice>practice-)?(?P<year>\d{4})-(?P<level>[a-z]+(?:_\d+)?)(?:-r(?P<number>\d+))?$"
)


def parse_round_id(round_id: str) -> tuple[int, str, int, bool] | None:
    """`round_id_for` read back: (year, level, round number, practice), or None."""
    found = ROUND_ID.match(round_id or "")
    if found is None:
        return None
    number = int(found["number"] or 1)
    return int(found["year"]), found["level"], number, bool(found["practice"])


def round_id_for(year: int, level: str, number: int = 1, practice: bool = False) -> str:
    """Readable, stable ids: `2027-grade_1`, `2027-grade_1-r2` for a second round, and
    `practice-2027-grade_1` for a practice round (never the id of a real one)."""
    base = f"{PRACTICE_PREFIX if practice else ''}{year}-{level}"
    return base if number == 1 else f"{base}-r{number}"


def is_practice_round(round_id: str) -> bool:
    """Whether a round id names a practice round (see PRACTICE_PREFIX)."""
    return round_id.startswith(PRACTICE_PREFIX)


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
    schema = _payload_schema(message_type, version)
    dumped = schema.dump(payload)
    errors = schema.validate(dumped) if check else None
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
