"""What a family is shown about one application: the status timeline, the published result
with its explanation, waitlist places and the offer's deadline."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gateway.backends import current_backends
from gateway.portal.labels import TIMELINE

# Inbox notices that mark a step of the timeline (the notice's template names the event).
STEP_OF_NOTICE = {
    "application_received": "received",
    "application_verified": "verified",
    "application_checked": "verified",
    "application_received_rejected": "rejected",
    "application_rejected": "rejected",
    "application_refused": "refused",
    "seat_offered": "offered",
    "application_waitlisted": "waitlisted",
    "application_unplaced": "unplaced",
    "waitlist_moved": "offered",
    "offer_accepted": "accepted",
    "offer_declined": "declined",
    "offer_expired": "expired",
    "enrollment_confirmed": "enrolled",
    "school_rejected": "school_rejected",
    "application_withdrawn": "withdrawn",
}
# Where a status leaves the usual path, it replaces the step it stands in for.
DETOURS = {
    "rejected": "verified",
    "withdrawn": "verified",
    "refused": "verified",
    "waitlisted": "offered",
    "unplaced": "offered",
    "declined": "accepted",
    "expired": "accepted",
    "school_rejected": "enrolled",
}


def timeline(application: dict[str, Any], notices: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The steps in order: each done, current or still to come, with when it happened."""
    status = str(application.get("status", "received"))
    times: dict[str, str] = {"received": str(application.get("submitted_at") or "")}
    for notice in sorted(notices, key=lambda n: str(n.get("created_at", ""))):
        step = STEP_OF_NOTICE.get(str(notice.get("template")))
        if step:
            times.setdefault(step, str(notice.get("created_at") or ""))
    steps = list(TIMELINE)
    if status in DETOURS:
        steps[steps.index(DETOURS[status])] = status
        steps = steps[: steps.index(status) + 1]
    reached = steps.index(status) if status in steps else 0
    return [
        {
            "status": step,
            "state": "done" if i < reached else "current" if i == reached else "todo",
            "at": times.get(step, "") if i <= reached else "",
        }
        for i, step in enumerate(steps)
    ]


def published_result(application: dict[str, Any]) -> dict[str, Any] | None:
    """The allocation's published result with its explanation, or None before publication.

    Stop-gap: DESIGN.md has `GET /applications/{ref}` answer the offer and explanation, but
    today's answer does not carry them. Until it does, this asks allocation's `get_result`
    over the worker's RPC pool, and only for an application the API has just answered to this
    user (the ownership check is the API's; this runs after it).
    """
    if application.get("result") is not None:
        return dict(application["result"])
    with current_backends().rpc.cluster() as rpc:
        result = rpc.allocation.get_result(application["reference"])
    return dict(result) if result else None


def seconds_left(deadline: str | None, now: datetime | None = None) -> int | None:
    """Seconds until an offer's deadline (0 once passed), None without one."""
    if not deadline:
        return None
    due = datetime.fromisoformat(deadline)
    if due.tzinfo is None:
        due = due.replace(tzinfo=UTC)
    return max(0, int((due - (now or datetime.now(UTC))).total_seconds()))


def split_duration(seconds: int) -> dict[str, int]:
    """Days, hours and minutes of a duration, for the countdown's words."""
    days, rest = divmod(seconds, 86400)
    return {"days": days, "hours": rest // 3600, "minutes": rest % 3600 // 60}
