"""The audit trail, readable: the department searches and exports it (each search and
export is itself audited), and a family sees who opened or changed their child's record."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from flask import Response, current_app, g, stream_with_context
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates

from gateway import audittrail
from gateway.auth.decorators import require
from gateway.auth.ownership import owned_application
from gateway.auth.roles import DEPARTMENT, PARENT
from gateway.backends import current_backends
from gateway.schemas import ErrorBody
from gateway.smorest import Blueprint
from shared.auditquery import AuditQuery, Cursor, cursor_of

blp = Blueprint("audit", __name__, url_prefix="/api/v1")


class AuditSearch(Schema):
    """`?reference=&actor_id=&action=&since=&until=&after=`, each optional."""

    class Meta:
        unknown = RAISE

    reference = fields.String(validate=validate.Regexp(r"^[A-Z0-9]{8,32}$"))
    actor_id = fields.String(validate=validate.Length(min=1, max=36))
    action = fields.String(validate=validate.Regexp(r"^[a-z_]+\.[a-z_]+$"))
    since = fields.AwareDateTime(metadata={"example": "2027-06-01T00:00:00+07:00"})
    until = fields.AwareDateTime()
    after = fields.String(
        validate=validate.Length(max=80),
        metadata={"description": "the next page: the `next` of the page before"},
    )

    @validates("after")
    def _cursor(self, value: str, **_: object) -> None:
        try:
            Cursor.decode(value)
        except ValueError:
            raise ValidationError("not a page cursor") from None


class AuditRow(Schema):
    """One audited request: who (account id and role), what, on which objects, the outcome.
    `source` names the table (registration keeps the submissions it stored)."""

    id = fields.Integer()
    source = fields.String(metadata={"example": "gateway"})
    at = fields.String()
    actor_id = fields.String(allow_none=True)
    role = fields.String(allow_none=True)
    action = fields.String(metadata={"example": "application.submit"})
    objects = fields.Dict(metadata={"example": {"reference": "TSABCDEFGHIJKLMNOP"}})
    status = fields.Integer()
    ip = fields.String(allow_none=True)
    correlation_id = fields.String(allow_none=True)


class AuditPage(Schema):
    """A page of entries, newest first; `next` (as `after=`) asks for the next one."""

    entries = fields.List(fields.Nested(AuditRow))
    next = fields.String(allow_none=True)


class RecordAccess(Schema):
    """A read of, or change to, the family's application: when, what, and by which office."""

    at = fields.String()
    action = fields.String(metadata={"example": "intake.read"})
    by = fields.String(metadata={"description": "family, school, help_point, department or system"})
    school_code = fields.String(allow_none=True, metadata={"description": "when by a school"})


def _query(args: dict[str, Any]) -> AuditQuery:
    after = args.get("after")
    return AuditQuery(**{**args, "after": Cursor.decode(after) if after else None})


def _searched(args: dict[str, Any]) -> dict[str, Any]:
    """What a search asked for, written into its own audit entry."""
    return {key: value for key, value in args.items() if key != "after"}


def _registration(query: AuditQuery, limit: int) -> list[dict[str, Any]]:
    """Registration's entries (the submissions it stored) for the same search."""
    with current_backends().rpc.cluster() as rpc:
        rows: list[dict[str, Any]] = rpc.registration.audit_entries(query.to_wire(), limit)
    return rows


@blp.route("/audit")
@require(DEPARTMENT, audit="audit.search", limit="account")
@blp.arguments(AuditSearch, location="query")
@blp.response(200, AuditPage)
def search(args: dict[str, Any]) -> dict[str, Any]:
    """Search the audit log by child reference, actor, action and time, newest first.

    Example: `curl 'localhost:8000/api/v1/audit?reference=TSABCDEFGHIJKLMNOP' -H
    'Authorization: Bearer ...'`
    """
    g.audit_objects = _searched(args)
    with current_app.extensions["db"].session() as session:
        entries = audittrail.search(session, _registration, _query(args))
    full = len(entries) == audittrail.PAGE
    return {"entries": entries, "next": cursor_of(entries[-1]).encode() if full else None}


@blp.route("/audit.csv")
@require(DEPARTMENT, audit="audit.export", limit="costly")
@blp.arguments(AuditSearch, location="query")
@blp.alt_response(
    200,
    description="Every matching entry as CSV (UTF-8, a header line), newest first.",
    content_type="text/csv",
    example=",".join(audittrail.COLUMNS) + "\n",
    success=True,
)
def export(args: dict[str, Any]) -> Response:
    """Every entry matching the search, as CSV (streamed).

    Example: `curl -o audit.csv 'localhost:8000/api/v1/audit.csv?action=intake.read' -H
    'Authorization: Bearer ...'`
    """
    g.audit_objects = _searched(args)
    query = _query(args)

    def parts() -> Iterator[str]:
        with current_app.extensions["db"].session() as session:
            yield from audittrail.export(session, _registration, query)

    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    return Response(
        stream_with_context(parts()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.csv"'},
    )


@blp.route("/applications/<string:reference>/access")
@require(PARENT, limit="account")
@blp.response(200, RecordAccess(many=True))
@blp.alt_response(404, schema=ErrorBody, description="No such application (of yours).")
def access(reference: str) -> list[dict[str, Any]]:
    """Who opened or changed your child's record, and when: which school or the department,
    never an officer's name.

    Example: `curl localhost:8000/api/v1/applications/TSABCDEFGHIJKLMNOP/access -H
    'Authorization: Bearer ...'`
    """
    application = owned_application(reference)
    round_id = application["round_id"]
    with current_backends().rpc.cluster() as rpc:
        result = rpc.allocation.get_result(reference)
        published = rpc.allocation.get_round(round_id).get("published_at") if result else None
    with current_app.extensions["db"].session() as session:
        return audittrail.record_access(
            session,
            _registration,
            reference,
            round_id,
            _schools_of(result),
            datetime.fromisoformat(published) if published else None,
        )


def _schools_of(result: dict[str, Any] | None) -> set[str]:
    """The schools whose intake list shows the child: placed at, offered, left, waiting."""
    if not result:
        return set()
    offer, placement = result.get("offer") or {}, result.get("placement") or {}
    named = {placement.get("school_code"), offer.get("school_code"), offer.get("left_school")}
    named |= {row["school_code"] for row in result.get("waitlist") or []}
    return {code for code in named if code}
