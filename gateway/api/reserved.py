"""Reserved seats: per round and school, seats held for children of a register category.

The department sets them before the results are published (allocating again afterwards if
the round was allocated). Eligibility comes from the population register's category on the
verified application; seats the category leaves unused return to the general pool in the
same run, and every explanation says which pool a seat came from.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import RAISE, Schema, fields, validate

from gateway.auth.decorators import require
from gateway.auth.roles import DEPARTMENT
from gateway.backends import allocation
from gateway.schemas import ErrorBody
from gateway.smorest import Blueprint
from shared.contracts.common import SCHOOL_CODE

blp = Blueprint("reserved", __name__, url_prefix="/api/v1/rounds")


class ReservedSeatRow(Schema):
    """One school's reserved seats in the round."""

    class Meta:
        unknown = RAISE

    school_code = fields.String(required=True, validate=SCHOOL_CODE)
    category = fields.String(
        required=True,
        validate=validate.Regexp(r"^[a-z][a-z0-9_]{1,39}$"),
        metadata={"example": "khuyet_tat", "description": "the register's category code"},
    )
    seats = fields.Integer(required=True, validate=validate.Range(min=0, max=10000))
    used = fields.Integer(
        dump_only=True,
        allow_none=True,
        metadata={"description": "seats the category took (null before allocation)"},
    )


class ReservedSeatsRequest(Schema):
    """Every school's reserved seats in the round (replaces the list; 0 seats: none)."""

    class Meta:
        unknown = RAISE

    seats = fields.List(
        fields.Nested(ReservedSeatRow), required=True, validate=validate.Length(max=5000)
    )


class ReservedSeatsView(Schema):
    """The round's reserved seats."""

    round_id = fields.String()
    seats = fields.List(fields.Nested(ReservedSeatRow))


@blp.route("/<string:round_id>/reserved-seats")
class ReservedSeats(MethodView):
    """A round's reserved seats."""

    @require(DEPARTMENT, limit="account")
    @blp.response(200, ReservedSeatsView)
    @blp.alt_response(404, schema=ErrorBody, description="No such round.")
    def get(self, round_id: str) -> dict[str, Any]:
        """Each school's reserved seats and category, and once allocated how many were used.

        Example: `curl localhost:8000/api/v1/rounds/2027-grade_1/reserved-seats`
        """
        return {"round_id": round_id, "seats": allocation("reserved_seats", round_id)}

    @require(DEPARTMENT, audit="round.reserved_seats", limit="account")
    @blp.arguments(ReservedSeatsRequest)
    @blp.response(200, ReservedSeatsView)
    @blp.alt_response(400, schema=ErrorBody, description="A school, category or count not valid.")
    @blp.alt_response(404, schema=ErrorBody, description="No such round.")
    @blp.alt_response(409, schema=ErrorBody, description="The results are published.")
    def put(self, body: dict[str, Any], round_id: str) -> dict[str, Any]:
        """Set the round's reserved seats; an allocated round's preview becomes stale.

        Example: `curl -X PUT localhost:8000/api/v1/rounds/2027-grade_1/reserved-seats -H
        'Content-Type: application/json' -d '{"seats": [{"school_code": "TH-0001",
        "category": "khuyet_tat", "seats": 2}]}'`
        """
        seats = allocation("set_reserved_seats", round_id, body["seats"])
        return {"round_id": round_id, "seats": seats}
