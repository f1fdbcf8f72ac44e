"""The parent's in-app inbox: every notice sent about their applications, newest first.

Without `?reference=` the notices of all the account's applications; with it, one
application's. Only for the parent's own applications: another family's reference answers
404, exactly as an unknown one does (the inbox holds the child's and the guardian's names).
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from gateway.auth.decorators import require
from gateway.auth.ownership import current_principal, owned_application
from gateway.auth.roles import PARENT
from gateway.backends import current_backends
from gateway.schemas import ErrorBody
from gateway.smorest import Blueprint

blp = Blueprint("inbox", __name__, url_prefix="/api/v1/inbox")


class InboxQuery(Schema):
    """`?reference=TS...` (optional: without it, every application of the account)."""

    reference = fields.String(validate=validate.Length(min=8, max=32))


class InboxMessageView(Schema):
    """One notice as the parent reads it."""

    event_id = fields.String()
    reference = fields.String(metadata={"example": "TSABCDEFGHIJKLMNOP"})
    template = fields.String(metadata={"example": "seat_offered"})
    language = fields.String(metadata={"example": "vi"})
    subject = fields.String()
    body = fields.String()
    created_at = fields.String()


class InboxView(Schema):
    """An application's inbox, or the account's (then `reference` is null)."""

    reference = fields.String(allow_none=True, metadata={"example": "TSABCDEFGHIJKLMNOP"})
    messages = fields.List(fields.Nested(InboxMessageView))


@blp.route("")
class Inbox(MethodView):
    """The notices about the account's applications, or one of them."""

    @require(PARENT, limit="account")
    @blp.arguments(InboxQuery, location="query")
    @blp.response(200, InboxView)
    @blp.alt_response(404, schema=ErrorBody, description="No such application (of yours).")
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """The notices sent about your applications (or one of them), newest first.

        Example: `curl localhost:8000/api/v1/inbox -H 'Authorization: Bearer ...'`, or
        `curl 'localhost:8000/api/v1/inbox?reference=TSABCDEFGHIJKLMNOP' -H 'Authorization:
        Bearer ...'` for one application.
        """
        reference = query.get("reference")
        with current_backends().rpc.cluster() as rpc:
            if reference is None:
                owner = current_principal().account_id
                owned = rpc.registration.list_applications(owner)
                references = [application["reference"] for application in owned]
                messages = rpc.notification.list_inboxes(references) if references else []
                return {"reference": None, "messages": messages}
        owned_application(reference)  # another family's reference: 404, as if unknown
        with current_backends().rpc.cluster() as rpc:
            messages = rpc.notification.list_inbox(reference)
        return {"reference": reference, "messages": messages}
