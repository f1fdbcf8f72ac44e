"""What the department sends and reads about a round (gateway/api/rounds.py's routes)."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from shared.contracts.common import LEVELS


class CreateRoundRequest(Schema):
    """A new round; a `number` above 1 is a second round for the seats the first one left.

    The ranges are the public API's (per-field 400s, the OpenAPI spec); the rule is
    allocation's (services/allocation/domain.py RoundOptions), which decides again.
    """

    class Meta:
        unknown = RAISE

    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))
    number = fields.Integer(load_default=1, validate=validate.Range(min=1, max=9))
    max_preferences = fields.Integer(load_default=3, validate=validate.Range(min=1, max=10))
    sibling_priority = fields.Boolean(load_default=False)
    distance_tiebreak = fields.Boolean(load_default=False)
    shared_sibling_lottery = fields.Boolean(
        load_default=False,
        metadata={"description": "linked siblings draw with the smallest of their numbers"},
    )
    twins_together = fields.Boolean(
        load_default=False,
        metadata={"description": "a sibling's school is preferred for the other (twins)"},
    )
    offer_days = fields.Integer(load_default=7, validate=validate.Range(min=1, max=60))
    practice = fields.Boolean(load_default=False, metadata={"description": "a trial round"})


class RoundDetail(Schema):
    """A round as the department sees it: status, options, the job running, and (once
    published) the seed anyone can recompute the lottery from."""

    round_id = fields.String(metadata={"example": "2027-grade_1"})
    level = fields.String()
    year = fields.Integer()
    number = fields.Integer()
    status = fields.String(metadata={"example": "allocated"})
    max_preferences = fields.Integer()
    policy = fields.Dict()
    offer_days = fields.Integer()
    opened_at = fields.String(allow_none=True)
    opens_at = fields.String(
        allow_none=True, metadata={"description": "submissions count from this instant"}
    )
    closes_at = fields.String(
        allow_none=True,
        metadata={"description": "... until this one (null: until the department closes it)"},
    )
    closed_at = fields.String(allow_none=True)
    allocated_at = fields.String(allow_none=True)
    published_at = fields.String(allow_none=True)
    finalized_at = fields.String(allow_none=True)
    job = fields.String(allow_none=True, metadata={"example": "allocate"})
    job_error = fields.String(allow_none=True)
    preview_stale = fields.Boolean()
    seed = fields.String(allow_none=True)
    seed_commitment = fields.String(
        allow_none=True, metadata={"description": "SHA-256 (hex) of the seed, from close"}
    )
    input_digests = fields.List(
        fields.Dict(), metadata={"description": "each allocation run's inputs digest"}
    )
    practice = fields.Boolean()
    applications_received = fields.Integer(
        allow_none=True,
        metadata={
            "description": "applications registration has received for the round so far"
            " (null while registration does not answer)"
        },
    )


class OpenRoundRequest(Schema):
    """The window of a round being opened; both optional (default: from now, until closed)."""

    class Meta:
        unknown = RAISE

    opens_at = fields.AwareDateTime(
        load_default=None, metadata={"example": "2027-06-01T08:00:00+07:00"}
    )
    closes_at = fields.AwareDateTime(
        load_default=None, metadata={"example": "2027-06-10T17:00:00+07:00"}
    )


class StatsView(Schema):
    """The preview's figures and the seat statuses now."""

    round_id = fields.String()
    status = fields.String()
    preview_stale = fields.Boolean()
    statistics = fields.Dict(allow_none=True)
    statuses = fields.Dict()
    applications_per_hour = fields.List(
        fields.List(fields.Raw()),
        metadata={"description": "[[hour start, UTC ISO, applications first submitted], ...]"},
    )


class DiscardedView(Schema):
    """A practice round wiped."""

    round_id = fields.String(metadata={"example": "practice-2027-grade_1"})
    claims_removed = fields.Integer()
