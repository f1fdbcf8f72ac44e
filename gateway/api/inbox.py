"""The parent's in-app inbox: every notice sent about one of their applications, newest first.

Only for the parent's own applications: another family's reference answers 404, exactly as
an unknown one does (the inbox holds the child's and the guardian's names).
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from gateway.auth.decorators import require
from gateway.auth.ownership import owned_application
from gateway.auth.roles import PARENT
from gateway.schemas import ErrorBody
from gateway.smorest import Blueprint

blp = Blueprint("inbox", __name__, url_prefix="/api/v1/inbox")


class InboxQuery(Schema):
    """`?reference=TS...`."""

    reference = fields.String(required=True, validate=validate.Length(min=8, max=32))


class InboxMessageView(Schema):
    """One notice as the parent reads it."""

    event_id = fields.String()
    template = fields.String(metadata={"example": "seat_offered"})
    language = fields.String(metadata={"example": "vi"})
    subject = fields.String()
    body = fields.String()
    created_at = fields.String()


class InboxView(Schema):
    """An application's inbox."""

    reference = fields.String(metadata={"example": "TSABCDEFGHIJKLMNOP"})
    messages = fields.List(fields.Nested(InboxMessageView))


@blp.route("")
class Inbox(MethodView):
    """The notices about one application."""

    @require(PARENT, limit="account")
    @blp.arguments(InboxQuery, location="query")
    @blp.response(200, InboxView)
    @blp.alt_response(404, schema=ErrorBody, description="No such application (of yours).")
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """The notices sent about one of your applications, newest first.

        Example: `curl 'localhost:8000/api/v1/inbox?reference=TSABCDEFGHIJKLMNOP' -H
        'Authorization: Bearer ...'`
        """
        reference = query["reference"]
        owned_application(reference)  # another family's reference: 404, as if unknown
        with current_app.extensions["tuyensinh"].rpc.cluster() as rpc:
            messages = rpc.notification.list_inbox(reference)
        return {"reference": reference, "messages": messages}
