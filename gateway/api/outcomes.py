"""Open data: each published round's outcome per school (seats, applications, offers by tier
group, the cutoff as tier and lottery percentile), kept for every past round, as JSON and
CSV. Public; counts of fewer than k = 10 children are null (an empty CSV cell)."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from marshmallow import Schema, fields

from gateway.auth.decorators import public
from gateway.backends import current_backends
from gateway.schemas import ErrorBody
from gateway.smorest import Blueprint
from shared.opendata import OUTCOME_COLUMNS

blp = Blueprint("outcomes", __name__, url_prefix="/api/v1/outcomes")

_HIDDEN = {"allow_none": True, "metadata": {"description": "null: fewer than k children"}}


class PublishedRound(Schema):
    """A published round whose outcome is public."""

    round_id = fields.String()
    level = fields.String()
    year = fields.Integer()
    number = fields.Integer()
    published_at = fields.String(allow_none=True)


class SchoolOutcome(Schema):
    """One school's outcome in a published round."""

    round_id = fields.String()
    school_code = fields.String()
    school_name = fields.String()
    seats = fields.Integer()
    applications = fields.Integer(**_HIDDEN)  # type: ignore[arg-type]
    first_choice = fields.Integer(**_HIDDEN)  # type: ignore[arg-type]
    offers_priority = fields.Integer(**_HIDDEN)  # type: ignore[arg-type]
    offers_catchment = fields.Integer(**_HIDDEN)  # type: ignore[arg-type]
    offers_outside = fields.Integer(**_HIDDEN)  # type: ignore[arg-type]
    offers_guarantee = fields.Integer(**_HIDDEN)  # type: ignore[arg-type]
    cutoff_tier = fields.Integer(allow_none=True, metadata={"description": "null: seats left"})
    cutoff_lottery_percentile = fields.Float(
        allow_none=True,
        metadata={"description": "the last admitted's lottery number, as a percentile (0: best)"},
    )


def _allocation(method: str, *args: Any) -> Any:
    with current_backends().rpc.cluster() as rpc:
        return getattr(rpc.allocation, method)(*args)


@blp.route("")
class Outcomes(MethodView):
    """The published rounds."""

    @public(limit="lookup")
    @blp.response(200, PublishedRound(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Every published round whose outcome per school is public, newest first.

        Example: `curl localhost:8000/api/v1/outcomes`
        """
        rounds: list[dict[str, Any]] = _allocation("published_rounds")
        return rounds


@blp.route("/<string:round_id>")
class RoundOutcome(MethodView):
    """One published round's outcome per school."""

    @public(limit="lookup")
    @blp.response(200, SchoolOutcome(many=True))
    @blp.alt_response(404, schema=ErrorBody, description="No published round has that id.")
    def get(self, round_id: str) -> list[dict[str, Any]]:
        """Seats, applications, offers by tier group and cutoff of each school (JSON).

        Example: `curl localhost:8000/api/v1/outcomes/2027-grade_1`
        """
        rows: list[dict[str, Any]] = _allocation("round_outcomes", round_id)
        return rows


@blp.route("/<string:round_id>.csv")
@public(limit="lookup")
@blp.alt_response(
    200,
    description="The rows as CSV (UTF-8, a header line; an empty cell is a hidden count).",
    content_type="text/csv",
    example=",".join(OUTCOME_COLUMNS) + "\n",
    success=True,
)
@blp.alt_response(404, schema=ErrorBody, description="No published round has that id.")
def outcome_csv(round_id: str) -> Response:
    """The same rows as CSV (open data; an empty cell is a count of fewer than k).

    Example: `curl -o outcome.csv localhost:8000/api/v1/outcomes/2027-grade_1.csv`
    """
    text: str = _allocation("round_outcomes_csv", round_id)
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{round_id}-outcome.csv"'},
    )
