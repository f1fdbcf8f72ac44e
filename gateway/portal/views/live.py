"""The department's live window page: one round's figures as its window goes, redrawn every
few seconds from the API's running counts (`GET /api/v1/rounds/{id}/live`)."""

from __future__ import annotations

from datetime import UTC, datetime

from babel import Locale
from babel.dates import format_time, get_timezone
from flask import Blueprint, render_template

from gateway.auth.decorators import public
from gateway.portal import client, live_figures
from gateway.portal.i18n import CITY_TIMEZONE, current_language
from gateway.portal.views.common import expect, login_required
from gateway.portal.wards import city_wards

bp = Blueprint("live", __name__, url_prefix="/department")
REFRESH_SECONDS = 5


@bp.route("/rounds/<round_id>/live")
@public(limit="lookup")
@login_required
def live_window(round_id: str) -> str:
    """Submissions per minute, the verification backlog and its drain, rejections by reason,
    notices by channel and applications per ward, for one round."""
    live = expect(client.as_user("GET", f"/api/v1/rounds/{round_id}/live")).body
    now = datetime.now(UTC)
    return render_template(
        "department/live.html",
        live=live,
        figures=live_figures.figures(live, dict(city_wards()), now),
        now=now,
        refresh=REFRESH_SECONDS,
        clock=clock,
    )


def clock(moment: str | datetime) -> str:
    """The time of day in the city, to the minute: the axis of the per-minute charts."""
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    local = value.astimezone(get_timezone(CITY_TIMEZONE))
    return format_time(local, "HH:mm", locale=Locale.parse(current_language()))
