"""The draw's commitments, for anyone: a round's seed cannot be drawn again unnoticed.

At close the round publishes the SHA-256 of its secret seed; each allocation run publishes
the digest of the applications it read, before any result is seen; publication reveals the
seed. `python -m tools.verify_allocation results.csv --commitment … --digest …` checks an
export against these figures.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from gateway.auth.decorators import public
from gateway.backends import current_backends
from gateway.smorest import Blueprint

blp = Blueprint("draw", __name__, url_prefix="/api/v1/rounds")


class InputDigest(Schema):
    """One allocation run's digest of the verified applications it read."""

    digest = fields.String(metadata={"description": "SHA-256 (hex) of the inputs"})
    applications = fields.Integer()
    at = fields.String(metadata={"description": "when the run read them (UTC, ISO)"})


class CommitmentView(Schema):
    """A real round's commitments; `seed` is null until the results are published."""

    round_id = fields.String(metadata={"example": "2027-grade_1"})
    level = fields.String()
    year = fields.Integer()
    number = fields.Integer()
    status = fields.String()
    closed_at = fields.String(allow_none=True)
    published_at = fields.String(allow_none=True)
    seed_commitment = fields.String(
        allow_none=True, metadata={"description": "SHA-256 (hex) of the seed, from close"}
    )
    input_digests = fields.List(fields.Nested(InputDigest))
    seed = fields.String(allow_none=True, metadata={"description": "revealed at publication"})


@blp.route("/<string:round_id>/commitment")
@public(limit="lookup")
@blp.response(200, CommitmentView)
@blp.alt_response(404, description="No such round (practice rounds are not public).")
def commitment(round_id: str) -> dict[str, Any]:
    """The seed's commitment, the inputs' digests and (once published) the seed.

    Example: `curl localhost:8000/api/v1/rounds/2027-grade_1/commitment`
    """
    with current_backends().rpc.cluster() as rpc:
        answer: dict[str, Any] = rpc.allocation.round_commitment(round_id)
    return answer
