"""The department runs a round: create, open, close, allocate (preview), publish, finalize,
and watches its statistics and exports its results.

Every route needs a department account's bearer token (`@require(DEPARTMENT)`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from flask import Response, stream_with_context
from flask.views import MethodView
from nameko.exceptions import RemoteError

from gateway.auth.decorators import require
from gateway.auth.ownership import forget_claims
from gateway.auth.roles import DEPARTMENT
from gateway.backends import allocation, current_backends
from gateway.errors import UNAVAILABLE, ApiError
from gateway.round_schemas import (
    CreateRoundRequest,
    DiscardedView,
    OpenRoundRequest,
    RoundDetail,
    StatsView,
)
from gateway.smorest import Blueprint
from shared.contracts.rounds import is_practice_round

blp = Blueprint("rounds", __name__, url_prefix="/api/v1/rounds")
log = logging.getLogger(__name__)


@blp.route("")
class Rounds(MethodView):
    """Rounds, as the department creates them."""

    @require(DEPARTMENT, audit="round.create", limit="account")
    @blp.arguments(CreateRoundRequest)
    @blp.response(201, RoundDetail)
    @blp.alt_response(400, description="Options out of range; a later round without the first.")
    @blp.alt_response(409, description="That round exists already.")
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a round in draft.

        Example: `curl -X POST localhost:8000/api/v1/rounds -H 'Content-Type:
        application/json' -d '{"level": "grade_1", "year": 2027, "offer_days": 7}'`
        """
        level, year = body.pop("level"), body.pop("year")
        return allocation("create_round", level, year, **body)


@blp.route("/<string:round_id>")
@require(DEPARTMENT, limit="account")
@blp.response(200, RoundDetail)
@blp.alt_response(404, description="No such round.")
def get_round(round_id: str) -> dict[str, Any]:
    """One round, with its job and the applications received so far.

    Example: `curl localhost:8000/api/v1/rounds/2027-grade_1`
    """
    round_ = allocation("get_round", round_id)
    try:
        with current_backends().rpc.cluster() as rpc:
            received = rpc.registration.applications_received(round_id)
    except UNAVAILABLE as exc:
        # The round is allocation's; the count is registration's. While registration is
        # away (an outage, a restart), the department still sees the round, without it.
        log.warning("applications received of %s unknown: %s", round_id, type(exc).__name__)
        received = None
    return {**round_, "applications_received": received}


@blp.route("/<string:round_id>/open", methods=["POST"])
@require(DEPARTMENT, audit="round.open", limit="account")
@blp.arguments(OpenRoundRequest, required=False)
@blp.response(200, RoundDetail)
@blp.alt_response(400, description="The window is not valid (in the past, or empty).")
@blp.alt_response(404, description="No such round.")
@blp.alt_response(409, description="The round is not in draft.")
def open_round(body: dict[str, Any], round_id: str) -> dict[str, Any]:
    """`draft → open` with its window: submissions count from `opens_at` (default now) until
    `closes_at` (default: until the department closes it). Fixed dates can be set in advance,
    so every gateway knows the opening instant before it comes.

    Example: `curl -X POST localhost:8000/api/v1/rounds/2027-grade_1/open -H 'Content-Type:
    application/json' -d '{"opens_at": "2027-06-01T08:00:00+07:00", "closes_at":
    "2027-06-10T17:00:00+07:00"}'`
    """
    window = {key: value.isoformat() for key, value in (body or {}).items() if value is not None}
    return allocation("open_round", round_id, **window)


@blp.route("/<string:round_id>/close", methods=["POST"])
@require(DEPARTMENT, audit="round.close", limit="account")
@blp.response(200, RoundDetail)
@blp.alt_response(404, description="No such round.")
@blp.alt_response(409, description="The round is not open.")
def close_round(round_id: str) -> dict[str, Any]:
    """Close an open round: submissions stop at `closes_at`, a few seconds from now
    (WINDOW_NOTICE_SECONDS), so every gateway learns the instant before it passes; at that
    instant the round becomes `closed` and the lottery's secret seed is fixed. Everything a
    gateway accepted before the instant is honoured, however long it waits in a queue.

    Example: `curl -X POST localhost:8000/api/v1/rounds/2027-grade_1/close`
    """
    return allocation("close_round", round_id)


@blp.route("/<string:round_id>/allocate", methods=["POST"])
@require(DEPARTMENT, audit="round.allocate", limit="costly")
@blp.response(202, RoundDetail)
@blp.alt_response(404, description="No such round.")
@blp.alt_response(409, description="Not closed or allocated; or the intake is not complete.")
def allocate_round(round_id: str) -> dict[str, Any]:
    """Queue the allocation (the preview); follow `job` on the round until `allocated`.

    Refused (409, with the reason) while registration still has unverified applications or
    a backlog for the round. Allocating again while `allocated` replaces the preview.
    Example: `curl -X POST localhost:8000/api/v1/rounds/2027-grade_1/allocate`
    """
    return allocation("allocate", round_id)


@blp.route("/<string:round_id>/publish", methods=["POST"])
@require(DEPARTMENT, audit="round.publish", limit="costly")
@blp.response(202, RoundDetail)
@blp.alt_response(404, description="No such round.")
@blp.alt_response(409, description="Not allocated, a job is queued, or the preview is stale.")
def publish_round(round_id: str) -> dict[str, Any]:
    """Queue publication: every child's offer, waitlist place or unplaced reason goes out.

    Example: `curl -X POST localhost:8000/api/v1/rounds/2027-grade_1/publish`
    """
    return allocation("publish", round_id)


@blp.route("/<string:round_id>/finalize", methods=["POST"])
@require(DEPARTMENT, audit="round.finalize", limit="account")
@blp.response(200, RoundDetail)
@blp.alt_response(404, description="No such round.")
@blp.alt_response(409, description="Not published, or offers still await an answer.")
def finalize_round(round_id: str) -> dict[str, Any]:
    """`published → finalized`: the waitlists close; seats freed later stay for a next round.

    Example: `curl -X POST localhost:8000/api/v1/rounds/2027-grade_1/finalize`
    """
    return allocation("finalize_round", round_id)


@blp.route("/<string:round_id>/stats")
@require(DEPARTMENT, limit="costly")
@blp.response(200, StatsView)
@blp.alt_response(404, description="No such round.")
@blp.alt_response(409, description="The round has no results yet.")
def round_stats(round_id: str) -> dict[str, Any]:
    """First-choice and top-3 shares, unplaced by reason, fill rate per school, statuses.

    Example: `curl localhost:8000/api/v1/rounds/2027-grade_1/stats`
    """
    stats = allocation("round_stats", round_id)
    with current_backends().rpc.cluster() as rpc:
        stats["applications_per_hour"] = rpc.registration.applications_per_hour(round_id)
    return stats


@blp.route("/<string:round_id>/discard", methods=["POST"])
@require(DEPARTMENT, audit="round.discard", limit="account")
@blp.response(200, DiscardedView)
@blp.alt_response(404, description="No such practice round.")
@blp.alt_response(409, description="A real round, or a job is running.")
def discard_round(round_id: str) -> dict[str, Any]:
    """Wipe a practice round from every service's database (the others through the
    `round_discarded` event), and its application claims from the gateway's.

    A wipe cut short after allocation's part (claims left here) is finished by asking again.
    Example: `curl -X POST localhost:8000/api/v1/rounds/practice-2027-grade_1/discard`
    """
    if not is_practice_round(round_id):
        raise ApiError(409, "not_practice", "Only a practice round can be wiped.")
    try:
        allocation("discard_round", round_id)
        found = True
    except RemoteError as error:
        if error.exc_type != "RoundNotFound":
            raise
        found = False
    removed = forget_claims(round_id)
    if not found and not removed:
        raise ApiError(404, "not_found", "No such round.")
    return {"round_id": round_id, "claims_removed": removed}


@blp.route("/<string:round_id>/results.csv")
@require(DEPARTMENT, audit="round.export_results", limit="costly")
@blp.alt_response(404, description="No such round.")
@blp.alt_response(409, description="The round has no results yet.")
def results_csv(round_id: str) -> Response:
    """The results export: seed, policy, schools and one row per child, streamed in parts.

    Check it with `python -m tools.verify_allocation results.csv`.
    Example: `curl -o results.csv localhost:8000/api/v1/rounds/2027-grade_1/results.csv`
    """
    first = allocation("export_chunk", round_id, 0)  # errors answer as JSON, before streaming

    def parts() -> Iterator[str]:
        part = first
        while True:
            yield part["text"]
            if part["next"] is None:
                return
            part = allocation("export_chunk", round_id, part["next"])

    return Response(
        stream_with_context(parts()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{round_id}-results.csv"'},
    )
