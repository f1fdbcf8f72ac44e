"""What the registration service returns over RPC."""

from marshmallow import Schema, fields


class GuardianView(Schema):
    """The guardian, for the notification service and the parent's own view."""

    full_name = fields.String(attribute="guardian_name")
    phone = fields.String(attribute="guardian_phone")
    email = fields.String(attribute="guardian_email")
    language = fields.String()


class ChildView(Schema):
    """The child as registered."""

    citizen_id = fields.String()
    full_name = fields.String(attribute="child_name")
    date_of_birth = fields.Date()


class ApplicationView(Schema):
    """An application as its own family may see it."""

    reference = fields.String()
    round_id = fields.String()
    status = fields.String()
    preferences = fields.List(fields.String())
    submitted_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    owner_id = fields.String(allow_none=True)
    help_point = fields.String(allow_none=True)
    ward_code = fields.String(allow_none=True)
    rejection_reasons = fields.List(fields.Dict(), allow_none=True)
    erasure_requested_at = fields.AwareDateTime(allow_none=True)
    erased_at = fields.AwareDateTime(allow_none=True)
    refusal = fields.Dict(allow_none=True)
    late = fields.Boolean()  # accepted by the department after close
    late_reason = fields.String(allow_none=True)
    # Shared instances: building a schema costs more than dumping with it, and notification
    # asks for a hundred applications at a time.
    child = fields.Function(lambda application: _CHILD.dump(application))
    guardian = fields.Function(lambda application: _GUARDIAN.dump(application))


_CHILD: ChildView = ChildView()
_GUARDIAN: GuardianView = GuardianView()
