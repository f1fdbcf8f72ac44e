"""Public lookups: which schools serve a ward, and the schools of a level."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from gateway.auth.decorators import public
from gateway.backends import current_backends
from gateway.schemas import CatchmentView, SchoolView, WardView
from gateway.smorest import Blueprint
from shared.contracts.common import LEVELS

blp = Blueprint("schools", __name__, url_prefix="/api/v1")


class CatchmentQuery(Schema):
    """`?ward=CODE&level=L`."""

    ward = fields.String(required=True, validate=validate.Regexp(r"^\d{1,10}$"))
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))


class LevelQuery(Schema):
    """`?level=L`."""

    level = fields.String(required=True, validate=validate.OneOf(LEVELS))


@blp.route("/catchment")
class Catchment(MethodView):
    """The schools whose catchment includes a ward."""

    @public(limit="lookup", shared=True)
    @blp.arguments(CatchmentQuery, location="query")
    @blp.response(200, CatchmentView)
    @blp.alt_response(404, description="No ward has that code.")
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Schools serving a ward, with the ward's official name.

        Example: `curl 'localhost:8000/api/v1/catchment?ward=00004&level=grade_1'`
        """
        backends = current_backends()
        return backends.catchment(query["ward"], query["level"])


class MapPoint(Schema):
    """A point on the map (WGS 84)."""

    lat = fields.Float()
    lon = fields.Float()


class FoundSchool(Schema):
    """A school of the finder, with its distance from the ward and catchment status."""

    code = fields.String()
    name = fields.String()
    capacity = fields.Integer()
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)
    in_catchment = fields.Boolean(metadata={"description": "the school serves the ward"})
    distance_m = fields.Integer(
        allow_none=True, metadata={"description": "metres from the ward's point; null: unknown"}
    )


class FinderView(Schema):
    """The level's schools, nearest the ward first."""

    ward = fields.Nested(WardView)
    level = fields.String()
    point = fields.Nested(
        MapPoint,
        allow_none=True,
        metadata={
            "description": "the point measured from: the ward's (the centre of the schools"
            " located in it), or, for an application, the register's point of the registered"
            " address (rounded to about 100 m)"
        },
    )
    point_source = fields.String(
        validate=validate.OneOf(("ward", "address")),
        metadata={"description": "which point the distances are from"},
    )
    schools = fields.List(fields.Nested(FoundSchool))


@blp.route("/finder")
class Finder(MethodView):
    """The school finder."""

    @public(limit="lookup")
    @blp.arguments(CatchmentQuery, location="query")
    @blp.response(200, FinderView)
    @blp.alt_response(404, description="No ward has that code.")
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """The schools of a level, nearest the ward first, with catchment status, distance
        and seats (live demand: `/api/v1/demand`).

        Example: `curl 'localhost:8000/api/v1/finder?ward=00256&level=grade_1'`
        """
        backends = current_backends()
        return backends.finder(query["ward"], query["level"])


@blp.route("/schools")
class Schools(MethodView):
    """Schools of a level."""

    @public(limit="lookup", shared=True)
    @blp.arguments(LevelQuery, location="query")
    @blp.response(200, SchoolView(many=True))
    def get(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """Every school of a level with its capacity and catchment.

        Example: `curl 'localhost:8000/api/v1/schools?level=grade_1'`
        """
        return current_backends().schools(query["level"])
