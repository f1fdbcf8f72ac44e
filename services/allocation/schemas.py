"""What the allocation service returns over RPC."""

from typing import Any

from marshmallow import Schema, fields


class RoundView(Schema):
    """A round as the gateway and the other services see it."""

    round_id = fields.String()
    level = fields.String()
    year = fields.Integer()
    status = fields.String()
    max_preferences = fields.Integer()
    opened_at = fields.AwareDateTime(allow_none=True)
    opens_at = fields.AwareDateTime(allow_none=True)
    closes_at = fields.AwareDateTime(allow_none=True)
    practice = fields.Boolean()


class RoundDetailView(RoundView):
    """A round as the department runs it; the seed shows once the results are published."""

    number = fields.Integer()
    policy = fields.Dict()
    offer_days = fields.Integer()
    closed_at = fields.AwareDateTime(allow_none=True)
    allocated_at = fields.AwareDateTime(allow_none=True)
    published_at = fields.AwareDateTime(allow_none=True)
    finalized_at = fields.AwareDateTime(allow_none=True)
    job = fields.String(allow_none=True)
    job_error = fields.String(allow_none=True)
    preview_stale = fields.Boolean()
    seed = fields.Method("published_seed")
    seed_commitment = fields.String(allow_none=True)
    input_digests = fields.List(fields.Dict())

    def published_seed(self, round_: Any) -> str | None:
        """The seed in hex, only once published: before that it is the round's secret."""
        return round_.seed if round_.status in ("published", "finalized") else None


class CommitmentView(Schema):
    """What anyone may see of a real round's draw: the seed's commitment from close, each
    allocation run's inputs digest, and the seed itself once the results are published."""

    round_id = fields.String()
    level = fields.String()
    year = fields.Integer()
    number = fields.Integer()
    status = fields.String()
    closed_at = fields.AwareDateTime(allow_none=True)
    published_at = fields.AwareDateTime(allow_none=True)
    seed_commitment = fields.String(allow_none=True)
    input_digests = fields.List(fields.Dict())
    seed = fields.Method("published_seed")

    def published_seed(self, round_: Any) -> str | None:
        """The seed in hex, only once published."""
        return RoundDetailView().published_seed(round_)


class WardView(Schema):
    """A ward's official code and name."""

    code = fields.String()
    name = fields.String()


class SchoolView(Schema):
    """A school, its seats and the wards it serves."""

    code = fields.String()
    name = fields.String()
    level = fields.String()
    capacity = fields.Integer()
    ward_code = fields.String()
    catchment = fields.List(fields.String())
