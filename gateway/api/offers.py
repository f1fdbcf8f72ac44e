"""Parents answer an offer: accept it, or decline it (the seat goes down the waitlist).

A parent's bearer token is needed, and a parent may answer only their own child's offer:
anyone else's reference answers 404, as an unknown one does.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from gateway.auth.decorators import require
from gateway.auth.ownership import owned_application
from gateway.auth.roles import PARENT
from gateway.backends import allocation
from gateway.smorest import Blueprint

blp = Blueprint("offers", __name__, url_prefix="/api/v1/offers")


class SeatView(Schema):
    """The child's seat after the answer."""

    reference = fields.String(metadata={"example": "TSABCDEFGHIJKLMNOP"})
    round_id = fields.String()
    status = fields.String(metadata={"example": "accepted"})
    school_code = fields.String(allow_none=True)
    deadline = fields.String(allow_none=True)


@blp.route("/<string:reference>/accept", methods=["POST"])
@require(PARENT, audit="offer.accept", limit="submit")
@blp.response(200, SeatView)
@blp.alt_response(404, description="No published offer for that application.")
@blp.alt_response(409, description="The offer is not open (already answered or expired).")
def accept(reference: str) -> dict[str, Any]:
    """Accept the seat offered to the child.

    Example: `curl -X POST localhost:8000/api/v1/offers/TSABCDEFGHIJKLMNOP/accept`
    """
    owned_application(reference)  # another family's reference: 404, as if unknown
    return allocation("accept_offer", reference)


@blp.route("/<string:reference>/decline", methods=["POST"])
@require(PARENT, audit="offer.decline", limit="submit")
@blp.response(200, SeatView)
@blp.alt_response(404, description="No published offer for that application.")
@blp.alt_response(409, description="There is no seat to decline.")
def decline(reference: str) -> dict[str, Any]:
    """Decline the seat (offered or accepted); it goes to the head of the school's waitlist.

    Example: `curl -X POST localhost:8000/api/v1/offers/TSABCDEFGHIJKLMNOP/decline`
    """
    owned_application(reference)  # another family's reference: 404, as if unknown
    return allocation("decline_offer", reference)
