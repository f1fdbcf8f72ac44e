"""Live demand and chances on the portal: fetched from the public and the family's own API
routes, and said in plain words ("about 40 %")."""

from __future__ import annotations

from typing import Any

from gateway.portal import client
from gateway.portal.i18n import gettext as _


def about(share: float | None) -> str:
    """A chance in plain words, to the nearest 5 %: it is an estimate, not a promise."""
    if share is None:
        return ""
    if share < 0.05:
        return _("less than 5 %") if share > 0 else _("almost none")
    if share > 0.95:
        return _("more than 95 %") if share < 1 else _("almost certain")
    return _("about %(n)s %%", n=int(5 * round(share * 20)))


def open_round_of(level: str) -> dict[str, Any] | None:
    """The real round of `level` open now, if any (never a practice round)."""
    answer = client.public("GET", "/api/v1/rounds")
    rounds = answer.body if answer.ok else []
    return next((r for r in rounds if r["level"] == level and not r.get("practice")), None)


def demand(round_id: str | None) -> dict[str, Any] | None:
    """The round's live demand keyed by school code, with its batch's time; None without."""
    if not round_id:
        return None
    answer = client.public("GET", "/api/v1/demand", query={"round_id": round_id})
    if not answer.ok:
        return None
    body = answer.body
    return {
        "computed_at": body["computed_at"],
        "k": body["k"],
        "schools": {row["school_code"]: row for row in body["schools"]},
    }


def own_estimate(application: dict[str, Any]) -> dict[str, Any] | None:
    """The family's own estimate of a verified application of an open round, if computed."""
    if application.get("status") != "verified":
        return None
    reference = application["reference"]
    answer = client.as_user("GET", f"/api/v1/applications/{reference}/estimate")
    if not answer.ok or not answer.body.get("available"):
        return None
    figures: dict[str, Any] = answer.body
    return figures
