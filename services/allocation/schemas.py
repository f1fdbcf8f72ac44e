"""What the allocation service returns over RPC."""

from marshmallow import Schema, fields


class RoundView(Schema):
    """A round as the gateway and the other services see it."""

    round_id = fields.String()
    level = fields.String()
    year = fields.Integer()
    status = fields.String()
    max_preferences = fields.Integer()
    opened_at = fields.AwareDateTime(allow_none=True)


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
