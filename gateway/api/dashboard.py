"""The department's dashboard of an allocated round at a city's scale: demand's spread, the
schools most and least in demand and each ward's figures; and the round's schools with
their figures, searched, filtered by ward, sorted and paged (2,620 of them in a city).

Counted by allocation's database from what the preview stored: a page never reads the
round's 250,000 results. Every route needs a department account's bearer token.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from gateway.auth.decorators import require
from gateway.auth.roles import DEPARTMENT
from gateway.backends import allocation
from gateway.smorest import Blueprint

blp = Blueprint("dashboard", __name__, url_prefix="/api/v1/rounds")
SORTS = ("-demand", "demand", "-fill", "fill", "name")


class SchoolFigures(Schema):
    """A school's seats and demand in the round (`demand`, `fill`: null without seats)."""

    code = fields.String(metadata={"example": "TH-0001"})
    name = fields.String()
    ward_code = fields.String()
    ward_name = fields.String(allow_none=True)
    capacity = fields.Integer(metadata={"description": "seats this round"})
    occupied = fields.Integer(metadata={"description": "seats held (the preview's, then now)"})
    first_choices = fields.Integer(metadata={"description": "children who ranked it first"})
    ranked = fields.Integer(metadata={"description": "children who ranked it at all"})
    demand = fields.Float(allow_none=True, metadata={"description": "first choices per seat"})
    fill = fields.Float(allow_none=True, metadata={"description": "share of seats held"})


class WardFigures(Schema):
    """A ward: the schools standing in it, and the children living in it."""

    code = fields.String(metadata={"example": "00070"})
    name = fields.String()
    schools = fields.Integer()
    capacity = fields.Integer()
    occupied = fields.Integer()
    first_choices = fields.Integer()
    applicants = fields.Integer(metadata={"description": "applicants living in the ward"})
    unplaced = fields.Integer(metadata={"description": "... of them left without a seat"})


class Bucket(Schema):
    """Schools whose first choices per seat fall in one bucket (-1: schools without seats)."""

    bucket = fields.Integer()
    schools = fields.Integer()


class OverviewView(Schema):
    """The round at a glance."""

    round_id = fields.String()
    demand_bounds = fields.List(
        fields.Float(), metadata={"description": "upper bounds of the buckets but the last"}
    )
    demand_histogram = fields.List(fields.Nested(Bucket))
    most_demand = fields.List(fields.Nested(SchoolFigures))
    least_demand = fields.List(fields.Nested(SchoolFigures))
    wards = fields.List(fields.Nested(WardFigures))


class SchoolsQuery(Schema):
    """`?q=&ward=&sort=&page=&per_page=`."""

    class Meta:
        unknown = RAISE

    q = fields.String(load_default="", validate=validate.Length(max=100))
    ward = fields.String(load_default=None, validate=validate.Regexp(r"^\d{1,10}$"))
    sort = fields.String(load_default="-demand", validate=validate.OneOf(SORTS))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))


class SchoolsPage(Schema):
    """One page of the round's schools."""

    round_id = fields.String()
    total = fields.Integer(metadata={"description": "schools matching, on every page"})
    offset = fields.Integer()
    limit = fields.Integer()
    schools = fields.List(fields.Nested(SchoolFigures))


@blp.route("/<string:round_id>/overview")
@require(DEPARTMENT, limit="account")
@blp.response(200, OverviewView)
@blp.alt_response(404, description="No such round.")
@blp.alt_response(409, description="The round has no results yet.")
def round_overview(round_id: str) -> dict[str, Any]:
    """Demand's spread over the schools, the ten most and least wanted, and each ward.

    Example: `curl localhost:8000/api/v1/rounds/2027-grade_1/overview`
    """
    return allocation("round_overview", round_id)


@blp.route("/<string:round_id>/schools")
@require(DEPARTMENT, limit="account")
@blp.arguments(SchoolsQuery, location="query")
@blp.response(200, SchoolsPage)
@blp.alt_response(404, description="No such round.")
@blp.alt_response(409, description="The round has no results yet.")
def round_schools(query: dict[str, Any], round_id: str) -> dict[str, Any]:
    """The round's schools with their seats and demand: `q` searches names and codes
    (without diacritics), `ward` keeps those standing in one ward.

    Example: `curl 'localhost:8000/api/v1/rounds/2027-grade_1/schools?q=hoan+kiem&sort=-fill'`
    """
    per_page = query["per_page"]
    filters = {
        "query": query["q"],
        "ward": query["ward"],
        "sort": query["sort"],
        "offset": (query["page"] - 1) * per_page,
        "limit": per_page,
    }
    return allocation("round_schools", round_id, **filters)
