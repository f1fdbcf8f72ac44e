"""Request and response schemas of /api/v1/auth (unknown fields are refused)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from gateway.auth.accounts import normalise_phone
from gateway.auth.passwords import MAX_LENGTH, MIN_LENGTH
from gateway.auth.roles import ROLES
from shared.contracts.common import LANGUAGES

PHONE_PATTERN = validate.Regexp(r"^\+?\d{9,15}$", error="is not a phone number")


def _dialable(value: str) -> None:
    try:
        normalise_phone(value)
    except ValueError:
        raise ValidationError("is not a phone number") from None


PHONE: list[Callable[[Any], Any]] = [PHONE_PATTERN, _dialable]
CODE = validate.Regexp(r"^\d{4,8}$", error="is 4 to 8 digits")
USERNAME = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$", error="is not a username")


class Strict(Schema):
    """Refuses fields it does not declare: nobody sets `role` or `school_code` by sending it."""

    class Meta:
        unknown = RAISE


class SignUpRequest(Strict):
    """A new parent account."""

    phone = fields.String(required=True, validate=PHONE, metadata={"example": "0912345678"})
    password = fields.String(
        required=True,
        load_only=True,
        validate=validate.Length(min=MIN_LENGTH, max=MAX_LENGTH),
        metadata={"example": "a long passphrase"},
    )
    language = fields.String(load_default="vi", validate=validate.OneOf(LANGUAGES))


class VerifyRequest(Strict):
    """The code texted at sign-up."""

    phone = fields.String(required=True, validate=PHONE)
    code = fields.String(required=True, validate=CODE, metadata={"example": "123456"})


class CodeRequest(Strict):
    """Ask for a login code by SMS."""

    phone = fields.String(required=True, validate=PHONE)


class TokenRequest(Strict):
    """`phone` + `password` or `phone` + `code` (parents); `username` + `password` (others)."""

    phone = fields.String(validate=PHONE, metadata={"example": "0912345678"})
    username = fields.String(validate=USERNAME)
    password = fields.String(load_only=True, validate=validate.Length(min=1, max=MAX_LENGTH))
    code = fields.String(validate=CODE)

    @validates_schema
    def _one_way_in(self, data: dict[str, Any], **_: Any) -> None:
        if ("phone" in data) == ("username" in data):
            raise ValidationError("give a phone or a username", "phone")
        if ("password" in data) == ("code" in data):
            raise ValidationError("give a password or a code", "password")
        if "username" in data and "code" in data:
            raise ValidationError("codes are for parents' phones", "code")


class RefreshRequest(Strict):
    """The refresh token of the last pair."""

    refresh_token = fields.String(required=True, validate=validate.Length(min=20, max=200))


class LogoutRequest(Strict):
    """Optionally the refresh token, to end the whole login."""

    refresh_token = fields.String(validate=validate.Length(min=20, max=200))


class CodeSent(Schema):
    """202: a code is on its way (if there is anyone to send it to)."""

    status = fields.String(metadata={"example": "code_sent"})
    expires_in = fields.Integer(metadata={"description": "seconds the code stays valid"})


class TokenPair(Schema):
    """A bearer access token and the refresh token that renews it."""

    access_token = fields.String(required=True)
    token_type = fields.String(required=True, metadata={"example": "Bearer"})
    expires_in = fields.Integer(required=True, metadata={"example": 900})
    refresh_token = fields.String(required=True)
    refresh_expires_in = fields.Integer(required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    school_code = fields.String(allow_none=True)
    ward_code = fields.String(allow_none=True, metadata={"description": "a ward's help desk"})


class AccountView(Schema):
    """The account behind a token."""

    account_id = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    school_code = fields.String(allow_none=True)
    ward_code = fields.String(allow_none=True, metadata={"description": "a ward's help desk"})
