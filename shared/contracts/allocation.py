"""Allocation's contracts: the events it publishes about rounds, schools and seats."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from shared.contracts.common import LEVELS, SCHOOL_CODE, Event
from shared.contracts.rounds import PRACTICE_PREFIX


class RoundOpenedV1(Event):
    """Event: the department opened a round; applications are accepted for it."""

    round_id = fields.String(required=True)
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    year = fields.Integer(required=True)
    max_preferences = fields.Integer(required=True)
    practice = fields.Boolean(load_default=False)
    # The window: submissions stamped in [opens_at, closes_at) count (None: not bounded).
    opens_at = fields.AwareDateTime(load_default=None, allow_none=True)
    closes_at = fields.AwareDateTime(load_default=None, allow_none=True)


class RoundWindowV1(Event):
    """Event: a round's window changed (`round_window_changed`: the department scheduled the
    close), or it ended (`round_closed`: no more submissions or amendments)."""

    round_id = fields.String(required=True)
    opens_at = fields.AwareDateTime(load_default=None, allow_none=True)
    closes_at = fields.AwareDateTime(load_default=None, allow_none=True)


class RoundDiscardedV1(Event):
    """Event: the department wiped a practice round; every service forgets all of it."""

    round_id = fields.String(
        required=True, validate=validate.Regexp(f"^{PRACTICE_PREFIX}", error="not a practice round")
    )


class SchoolEntrySchema(Schema):
    """A school as other services need to know it: its code and level, nothing else."""

    code = fields.String(required=True, validate=SCHOOL_CODE)
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))


class SchoolDirectoryUpdatedV1(Event):
    """Event: allocation's schools changed; this is the whole directory (code and level)."""

    schools = fields.List(fields.Nested(SchoolEntrySchema), required=True)


class SeatOfferedV1(Event):
    """Event: the child is offered a seat at a school, to answer before the deadline."""

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


class ApplicationWaitlistedV1(Event):
    """Event: the child waits for a better-ranked school (and may hold a seat elsewhere)."""

    reference = fields.String(required=True)
    round_id = fields.String(required=True)
    positions = fields.List(fields.Nested(WaitlistPositionSchema), required=True)


class ApplicationUnplacedV1(Event):
    """Event: no seat for the child in this round, and why."""

    reference = fields.String(required=True)
    round_id = fields.String(required=True)
    # already_placed: a later round's applicant who holds a seat from an earlier round.
    reason = fields.String(
        required=True,
        validate=validate.OneOf(("catchment_full", "no_catchment_school", "already_placed")),
    )


class SeatEventV1(Event):
    """Payload of the events about one child's seat at one school (accepted, declined, ...)."""

    reference = fields.String(required=True)
    round_id = fields.String(required=True)
    school_code = fields.String(required=True)
    reason = fields.String(load_default=None, allow_none=True)  # school_rejected only


class RoundJobRequestedV1(Event):
    """Event (allocation to itself): run the allocate or publish job of a round, off the RPC."""

    round_id = fields.String(required=True)
    job = fields.String(required=True, validate=validate.OneOf(("allocate", "publish")))


class OfferExpiringV1(Event):
    """Event: an offer is still unanswered and its deadline is near (a reminder is due)."""

    reference = fields.String(required=True)
    round_id = fields.String(required=True)
    school_code = fields.String(required=True)
    deadline = fields.AwareDateTime(required=True)


PAYLOADS: dict[tuple[str, int], Any] = {
    ("round_opened", 1): RoundOpenedV1,
    ("round_closed", 1): RoundWindowV1,
    ("round_window_changed", 1): RoundWindowV1,
    ("round_discarded", 1): RoundDiscardedV1,
    ("school_directory_updated", 1): SchoolDirectoryUpdatedV1,
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
