"""A parent's contact preferences: the language of their notices and the channels used.

They are the notification service's (it reads them at every notice); the gateway only
checks who is asking: each account sees and changes its own, and nothing else.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from gateway.auth.decorators import require
from gateway.auth.ownership import current_principal
from gateway.auth.roles import PARENT
from gateway.backends import current_backends
from gateway.smorest import Blueprint
from shared.contracts.common import LANGUAGES

blp = Blueprint("preferences", __name__, url_prefix="/api/v1/me/preferences")


class PreferencesView(Schema):
    """How the account is told: `language` null means each application's own language."""

    language = fields.String(allow_none=True, metadata={"example": "vi"})
    email = fields.Boolean(metadata={"example": True})
    sms = fields.Boolean(metadata={"example": True})


class PreferencesRequest(Schema):
    """New preferences; the in-app inbox always gets every notice, and at least one other
    channel must stay on (an offer's deadline must not pass unnoticed)."""

    class Meta:
        unknown = RAISE

    language = fields.String(required=True, validate=validate.OneOf(LANGUAGES))
    email = fields.Boolean(required=True)
    sms = fields.Boolean(required=True)

    @validates_schema
    def one_channel(self, data: dict[str, Any], **_: Any) -> None:
        """E-mail, text messages or both."""
        if not (data.get("email") or data.get("sms")):
            raise ValidationError("keep e-mail or text messages on", field_name="sms")


@blp.route("")
class Preferences(MethodView):
    """The signed-in parent's own preferences."""

    @require(PARENT, limit="account")
    @blp.response(200, PreferencesView)
    def get(self) -> dict[str, Any]:
        """Your language and channels.

        Example: `curl localhost:8000/api/v1/me/preferences -H 'Authorization: Bearer ...'`
        """
        with current_backends().rpc.cluster() as rpc:
            found: dict[str, Any] = rpc.notification.get_preferences(_owner())
        return found

    @require(PARENT, audit="preferences.update", limit="account")
    @blp.arguments(PreferencesRequest)
    @blp.response(200, PreferencesView)
    def put(self, body: dict[str, Any]) -> dict[str, Any]:
        """Change your language and channels; later notices follow them.

        Example: `curl -X PUT localhost:8000/api/v1/me/preferences -H 'Authorization: Bearer
        ...' -H 'Content-Type: application/json' -d '{"language": "en", "email": true,
        "sms": false}'`
        """
        with current_backends().rpc.cluster() as rpc:
            saved: dict[str, Any] = rpc.notification.set_preferences(_owner(), **body)
        return saved


def _owner() -> str:
    return current_principal().account_id
