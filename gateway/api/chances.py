"""Helping families choose: live demand per school and the chances of admission of an open
round, estimated by the allocation service from many lottery draws of the real engine.

Public routes give per-school, per-tier-group figures only, each hidden (null) where
fewer than `k` applicants stand behind it. A family reads its own application's chances;
another family's reference answers 404, exactly as an unknown one does.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from gateway.api.schools import FinderView
from gateway.auth.decorators import public, require
from gateway.auth.ownership import owned_application
from gateway.auth.roles import PARENT
from gateway.backends import current_backends
from gateway.errors import ApiError
from gateway.schemas import ErrorBody
from gateway.smorest import Blueprint

blp = Blueprint("chances", __name__, url_prefix="/api/v1")

_COUNT = {"allow_none": True, "metadata": {"description": "null: fewer than k applicants"}}


class RoundQuery(Schema):
    """`?round_id=ID`."""

    round_id = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9_-]{4,40}$"))


class Batch(Schema):
    """When the figures were computed, from how many draws, and the k of k-anonymity."""

    round_id = fields.String()
    computed_at = fields.String(metadata={"description": "ISO instant of the batch"})
    draws = fields.Integer(metadata={"description": "lottery draws behind the figures"})
    applications = fields.Integer(metadata={"description": "verified applications in the batch"})
    k = fields.Integer(metadata={"description": "a figure shows where >= k applicants stand"})


class TierCounts(Schema):
    """Applications listing the school, by tier group."""

    priority = fields.Integer(**_COUNT)  # type: ignore[arg-type]
    catchment = fields.Integer(**_COUNT)  # type: ignore[arg-type]
    outside = fields.Integer(**_COUNT)  # type: ignore[arg-type]


class DemandRow(Schema):
    """One school's live demand."""

    school_code = fields.String()
    capacity = fields.Integer()
    applications = fields.Integer(**_COUNT)  # type: ignore[arg-type]
    first_choice = fields.Integer(**_COUNT)  # type: ignore[arg-type]
    per_seat = fields.Float(allow_none=True)
    by_tier = fields.Nested(TierCounts)


class DemandView(Batch):
    """Applications so far per school and per seat, split by tier group."""

    schools = fields.List(fields.Nested(DemandRow))


class GroupChance(Schema):
    """A tier group's chances at one school."""

    applicants = fields.Integer()
    reached_share = fields.Float(
        metadata={"description": "share of draws in which a child of the group was admitted"}
    )
    admitted_share = fields.Float(
        metadata={"description": "share of the group's applicants admitted there, on average"}
    )


class SchoolChance(Schema):
    """One school's chances per tier group (null where fewer than k applicants)."""

    school_code = fields.String()
    draws = fields.Integer()
    margin = fields.Float(metadata={"description": "largest error stated (3 standard errors)"})
    priority = fields.Nested(GroupChance, allow_none=True)
    catchment = fields.Nested(GroupChance, allow_none=True)
    outside = fields.Nested(GroupChance, allow_none=True)


class SchoolChancesView(Batch):
    """Each school's chances of admission per tier group."""

    schools = fields.List(fields.Nested(SchoolChance))


class ChoiceChance(Schema):
    """The chance of a place at one choice of the list."""

    rank = fields.Integer()
    school_code = fields.String()
    chance = fields.Float()


class Suggestion(Schema):
    """A school serving the family's ward, not on its list, with seats left in the draws."""

    school_code = fields.String()
    free_seats = fields.Float(metadata={"description": "seats left free on average"})


class EstimateView(Schema):
    """The family's own chances (`available` false until the first batch includes it)."""

    reference = fields.String()
    available = fields.Boolean()
    round_id = fields.String()
    computed_at = fields.String()
    draws = fields.Integer()
    applications = fields.Integer(metadata={"description": "verified applications in the batch"})
    margin = fields.Float(metadata={"description": "largest error stated (3 standard errors)"})
    choices = fields.List(fields.Nested(ChoiceChance))
    some_choice = fields.Float(metadata={"description": "a place at one of the choices"})
    guarantee = fields.Float(metadata={"description": "a place by the catchment guarantee"})
    no_place = fields.Float()
    outside_list = fields.Float(metadata={"description": "no place at any of the choices"})
    high_risk = fields.Boolean(metadata={"description": "outside_list is 20 % or more"})
    suggestions = fields.List(fields.Nested(Suggestion))


def _public(figures: dict[str, Any] | None, round_id: str) -> dict[str, Any]:
    if figures is None:
        raise ApiError(404, "no_estimate", f"{round_id} is not open or has no figures yet.")
    return figures


@blp.route("/demand")
class Demand(MethodView):
    """Live demand of an open round."""

    @public(limit="lookup")
    @blp.arguments(RoundQuery, location="query")
    @blp.response(200, DemandView)
    @blp.alt_response(404, schema=ErrorBody, description="Round not open, or no figures yet.")
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Applications so far per school and per seat, by tier group (k-anonymous).

        Example: `curl 'localhost:8000/api/v1/demand?round_id=2027-grade_1'`
        """
        backends = current_backends()
        return _public(backends.demand(query["round_id"]), query["round_id"])


@blp.route("/chances")
class Chances(MethodView):
    """Chances of admission per school and tier group in an open round."""

    @public(limit="lookup")
    @blp.arguments(RoundQuery, location="query")
    @blp.response(200, SchoolChancesView)
    @blp.alt_response(404, schema=ErrorBody, description="Round not open, or no figures yet.")
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Per school and tier group: the share of lottery draws in which a child of the
        group was admitted, and the group's admitted share (k-anonymous).

        Example: `curl 'localhost:8000/api/v1/chances?round_id=2027-grade_1'`
        """
        backends = current_backends()
        return _public(backends.school_chances(query["round_id"]), query["round_id"])


@blp.route("/applications/<string:reference>/estimate")
class ApplicationEstimate(MethodView):
    """The chances of one of your applications."""

    @require(PARENT, limit="account")
    @blp.response(200, EstimateView)
    @blp.alt_response(404, schema=ErrorBody, description="No such application (of yours).")
    def get(self, reference: str) -> dict[str, Any]:
        """Your list's chances at each choice and of no place, with suggestions when the
        risk of no place is high; they move as other families apply.

        Example: `curl localhost:8000/api/v1/applications/TSABCDEFGHIJKLMNOP/estimate -H
        'Authorization: Bearer ...'`
        """
        return own_estimate(reference)


def own_estimate(reference: str) -> dict[str, Any]:
    """The parent's own application's estimate (404 for anyone else's)."""
    owned_application(reference)
    # A live figure, fetched as demand is: a short timeout, a failure remembered a while.
    live = current_backends().live
    figures = live.call("allocation", "application_estimate", reference)
    if figures is None:
        return {"reference": reference, "available": False}
    return {**figures, "available": True}


@blp.route("/applications/<string:reference>/finder")
class ApplicationFinder(MethodView):
    """The school finder from your application's home."""

    @require(PARENT, limit="account")
    @blp.response(200, FinderView)
    @blp.alt_response(404, schema=ErrorBody, description="No such verified application (of yours).")
    def get(self, reference: str) -> dict[str, Any]:
        """The schools of the application's level nearest its home first: from the
        population register's point of the registered address when it has one, else from
        the ward's point (`point_source` says which). Once the application is verified.

        Example: `curl localhost:8000/api/v1/applications/TSABCDEFGHIJKLMNOP/finder -H
        'Authorization: Bearer ...'`
        """
        owned_application(reference)
        with current_backends().rpc.cluster() as rpc:
            found: dict[str, Any] = rpc.allocation.find_schools_for(reference)
        return found
