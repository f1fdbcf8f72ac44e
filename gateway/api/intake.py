"""School staff review their intake: the allocated list and waitlist, then confirm or reject.

Only the staff of that school may use these routes; any other school's code answers 404.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import RAISE, Schema, fields, validate

from gateway.api.offers import SeatView
from gateway.auth.decorators import require
from gateway.auth.ownership import own_school
from gateway.auth.roles import STAFF
from gateway.backends import allocation
from gateway.smorest import Blueprint

blp = Blueprint("intake", __name__, url_prefix="/api/v1/schools")


class IntakeQuery(Schema):
    """`?round_id=ID`: another published round than the latest of the school's level."""

    round_id = fields.String(validate=validate.Length(min=1, max=40))


class AllocatedChild(Schema):
    """A child allocated to the school, and where their answer stands. A child who left it
    (the family declined, the offer expired, the school rejected them) stays on the list with
    `left` true, and the school's `reason` when it rejected them."""

    reference = fields.String()
    status = fields.String(metadata={"example": "accepted"})
    deadline = fields.String(allow_none=True)
    placed_by = fields.String(metadata={"example": "preference"})
    left = fields.Boolean(metadata={"example": False})
    reason = fields.String(allow_none=True, metadata={"example": "Giấy tờ không hợp lệ"})
    pool = fields.String(
        allow_none=True,
        metadata={"example": "general", "description": "the seat's pool: general or reserved"},
    )
    late = fields.Boolean(metadata={"description": "a late application (placed after all others)"})


class WaitingChild(Schema):
    """A child on the school's waitlist, head first."""

    reference = fields.String()
    position = fields.Integer()


class IntakeView(Schema):
    """The school's intake in one round."""

    school_code = fields.String(metadata={"example": "TH-0001"})
    round_id = fields.String()
    round_status = fields.String()
    capacity = fields.Integer()
    occupied = fields.Integer()
    allocated = fields.List(fields.Nested(AllocatedChild))
    waitlist = fields.List(fields.Nested(WaitingChild))


class RejectRequest(Schema):
    """Why the school rejects the child (shown to the family)."""

    class Meta:
        unknown = RAISE

    reason = fields.String(required=True, validate=validate.Length(min=2, max=200))


@blp.route("/<string:code>/intake")
class Intake(MethodView):
    """A school's intake."""

    @require(STAFF, audit="intake.read", limit="costly")
    @blp.arguments(IntakeQuery, location="query")
    @blp.response(200, IntakeView)
    @blp.alt_response(404, description="No such school, or no published round for it.")
    def get(self, query: dict[str, Any], code: str) -> dict[str, Any]:
        """The allocated children with their status, and the waitlist in order.

        Example: `curl localhost:8000/api/v1/schools/TH-0001/intake`
        """
        own_school(code)  # another school's code: 404, as if unknown
        return allocation("school_intake", code, query.get("round_id"))


@blp.route("/<string:code>/intake/<string:reference>/confirm", methods=["POST"])
@require(STAFF, audit="intake.confirm", limit="account")
@blp.response(200, SeatView)
@blp.alt_response(404, description="The child holds no seat at this school.")
@blp.alt_response(409, description="The child has not accepted the offer.")
def confirm(code: str, reference: str) -> dict[str, Any]:
    """Confirm the enrollment of a child who accepted, after checking the papers.

    Example: `curl -X POST localhost:8000/api/v1/schools/TH-0001/intake/TSABCDEFGHIJKLMNOP/confirm`
    """
    own_school(code)
    return allocation("confirm_enrollment", code, reference)


@blp.route("/<string:code>/intake/<string:reference>/reject", methods=["POST"])
@require(STAFF, audit="intake.reject", limit="account")
@blp.arguments(RejectRequest)
@blp.response(200, SeatView)
@blp.alt_response(404, description="The child holds no seat at this school.")
@blp.alt_response(409, description="The child's seat cannot be rejected now.")
def reject(body: dict[str, Any], code: str, reference: str) -> dict[str, Any]:
    """Reject a child with a reason; the seat goes to the head of the waitlist.

    Example: `curl -X POST localhost:8000/api/v1/schools/TH-0001/intake/TSABCDEFGHIJKLMNOP/reject
    -H 'Content-Type: application/json' -d '{"reason": "papers_not_provided"}'`
    """
    own_school(code)
    return allocation("reject_enrollment", code, reference, body["reason"])
