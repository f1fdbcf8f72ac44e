"""What every contract shares: the levels and languages, the validators of a citizen ID, a
school code and a map point, the child and guardian as a parent types them, and the two kinds
of payload: an event's, which ignores fields it does not know (a newer producer may add
some), and a command's, which refuses them."""

from __future__ import annotations

from marshmallow import EXCLUDE, RAISE, Schema, fields, validate

LEVELS = ("kindergarten", "grade_1", "grade_6")
LANGUAGES = ("vi", "en")
CITIZEN_ID = validate.Regexp(r"^\d{12}$", error="must be 12 digits")
LATITUDE = validate.Range(min=-90, max=90)
LONGITUDE = validate.Range(min=-180, max=180)
SCHOOL_CODE = validate.Regexp(r"^[A-Z0-9-]{2,20}$", error="is not a school code")


class Event(Schema):
    """An event's payload: fields a newer producer added are left out, not refused."""

    class Meta:
        unknown = EXCLUDE


class Command(Schema):
    """A command's payload: anything it does not know is refused."""

    class Meta:
        unknown = RAISE


class ChildSchema(Command):
    """The child as the parent typed it; the register is checked against this later."""

    citizen_id = fields.String(required=True, validate=CITIZEN_ID)
    full_name = fields.String(required=True, validate=validate.Length(min=2, max=120))
    date_of_birth = fields.Date(required=True)


class GuardianSchema(Command):
    """How to reach the parent, and in which language."""

    full_name = fields.String(required=True, validate=validate.Length(min=2, max=120))
    phone = fields.String(
        required=True, validate=validate.Regexp(r"^\+?\d{9,15}$", error="is not a phone number")
    )
    email = fields.Email(required=True)
    language = fields.String(load_default="vi", validate=validate.OneOf(LANGUAGES))


class ReasonSchema(Schema):
    """One reason an application was rejected: which field, and a stable code."""

    field = fields.String(required=True)
    code = fields.String(required=True)
