"""The live window of a round, for the department: what registration and notification have
counted so far, read from their running counts (never from the applications or the
deliveries), kept a few seconds per gateway worker so that many open pages cost one read.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from marshmallow import Schema, fields

from gateway.auth.decorators import require
from gateway.auth.roles import DEPARTMENT
from gateway.backends import allocation, current_backends
from gateway.errors import UNAVAILABLE
from gateway.smorest import Blueprint

blp = Blueprint("live", __name__, url_prefix="/api/v1/rounds")
log = logging.getLogger(__name__)

CACHE_SECONDS = 2.0
MINUTES = 60  # the per-minute series cover the last hour
_cache: dict[str, tuple[float, dict[str, Any]]] = {}
_lock = threading.Lock()


class LiveView(Schema):
    """A round's live figures; a service that does not answer leaves its part null."""

    round_id = fields.String(metadata={"example": "2027-grade_1"})
    level = fields.String()
    status = fields.String()
    opens_at = fields.String(allow_none=True)
    closes_at = fields.String(allow_none=True)
    as_of = fields.Float(metadata={"description": "when these were read (Unix time)"})
    applications = fields.Dict(
        allow_none=True,
        metadata={
            "description": "registration's counts: submitted, statuses, wards, reasons, "
            "submitted_per_minute and checked_per_minute ([[UTC minute, n], ...] over the "
            "last hour), queued (submissions waiting on the broker, every round's)"
        },
    )
    notices = fields.Dict(
        allow_none=True,
        metadata={"description": "{channel: {status: sends}} since the round opened"},
    )


@blp.route("/<string:round_id>/live")
@require(DEPARTMENT, limit="account")
@blp.response(200, LiveView)
@blp.alt_response(404, description="No such round.")
def live_window(round_id: str) -> dict[str, Any]:
    """The round's window as it goes: submissions and verdicts per minute, the backlog,
    rejections by reason, applications per ward, notices sent and failed by channel.

    Example: `curl localhost:8000/api/v1/rounds/2027-grade_1/live`
    """
    now = time.monotonic()
    with _lock:
        cached = _cache.get(round_id)
    if cached and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    figures = _read(round_id)
    with _lock:
        _cache[round_id] = (now, figures)
    return figures


def _read(round_id: str) -> dict[str, Any]:
    round_ = allocation("get_round", round_id)
    since = round_.get("opens_at") or round_.get("opened_at") or round_.get("created_at")
    backends = current_backends()
    figures: dict[str, Any] = {
        key: round_.get(key) for key in ("round_id", "level", "status", "opens_at", "closes_at")
    }
    figures["as_of"] = time.time()
    try:
        with backends.rpc.cluster() as rpc:
            figures["applications"] = rpc.registration.live_counts(round_id, MINUTES)
    except UNAVAILABLE as exc:
        log.warning("live counts of %s unknown: %s", round_id, type(exc).__name__)
        figures["applications"] = None
    try:
        with backends.rpc.cluster() as rpc:
            figures["notices"] = rpc.notification.notice_counts(since) if since else {}
    except UNAVAILABLE as exc:
        log.warning("notice counts unknown: %s", type(exc).__name__)
        figures["notices"] = None
    return figures
