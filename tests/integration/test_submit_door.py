"""Parents' submissions on their own WSGI path (gateway/api/submit_door.py), in-process against
the real broker, PostgreSQL, Redis and a real allocation service: the path answers exactly as
the Flask view it stands in for, and what it hands to Flask is counted once.

A query string sends a submission through Flask's dispatch (the path leaves it alone), so each
case is asked both ways and the answers, audit entries and counts compared."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.test_gateway_protection import (  # noqa: F401 - the fixture
    SUBMISSIONS,
    Gateway,
    child,
    sample,
    start_gateway,
)
from tests.support.accounts import PARENT, make_account
from tests.support.broker import drain, queue_depth
from tests.support.forms import form

pytestmark = pytest.mark.integration

DOOR = "/api/v1/applications"
FLASK = "/api/v1/applications?via=flask"  # the same route, through Flask's dispatch
AUDIT = "SELECT action, actor_id, role, objects, status, ip, correlation_id FROM audit_log"


def _refusal(gateway: Gateway, path: str, case: str, number: int) -> Any:
    """One refused submission of `case`, as a parent of its own, through `path`."""
    parent = gateway.login(make_account(gateway.db, PARENT))
    headers = {**parent, "X-Correlation-ID": f"corr-{case}-{number:04d}"}
    if case == "round_not_open":
        body = form(round_id="2026-grade_1", child=child(number))
    elif case == "unknown_school":
        body = form(preferences=["TH-0001", "TH-9999"], child=child(number))
    else:  # another account holds the child
        first = gateway.login(make_account(gateway.db, PARENT))
        made = gateway.client.post(DOOR, json=form(child=child(number)), headers=first)
        assert made.status_code == 202, made.json
        body = form(child=child(number))
    return gateway.client.post(path, json=body, headers=headers)


@pytest.mark.parametrize("case", ["round_not_open", "unknown_school", "another_account"])
def test_a_refusal_is_answered_and_audited_as_the_flask_view_does(
    start_gateway: Callable[..., Gateway],  # noqa: F811
    case: str,
) -> None:
    gateway = start_gateway()

    by_door = _refusal(gateway, DOOR, case, 1)
    by_flask = _refusal(gateway, FLASK, case, 2)

    assert by_door.status_code == by_flask.status_code
    assert by_door.status_code in (400, 409)
    assert by_door.json == by_flask.json
    for answer, number in ((by_door, 1), (by_flask, 2)):
        assert answer.headers["Cache-Control"] == "private, no-store"
        assert answer.headers["X-Correlation-ID"] == f"corr-{case}-{number:04d}"
    entries = gateway.rows(f"{AUDIT} WHERE action = 'application.submit' ORDER BY id")
    assert [e.correlation_id for e in entries] == [f"corr-{case}-0001", f"corr-{case}-0002"]
    door_entry, flask_entry = entries
    assert (door_entry.status, door_entry.role, door_entry.ip) == (
        flask_entry.status,
        flask_entry.role,
        flask_entry.ip,
    )
    assert door_entry.objects.keys() == flask_entry.objects.keys()
    assert door_entry.actor_id != flask_entry.actor_id  # each parent's own


def test_a_202_on_the_door_is_counted_logged_and_carries_the_callers_ids(
    start_gateway: Callable[..., Gateway],  # noqa: F811
    amqp_uri: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    gateway = start_gateway()
    parent = make_account(gateway.db, PARENT)
    headers = {**gateway.login(parent), "X-Correlation-ID": "corr-door-0202"}

    with caplog.at_level(logging.INFO, logger="gateway.access"):
        answer = gateway.client.post(DOOR, json=form(), headers=headers)

    assert answer.status_code == 202
    assert answer.json == {"reference": answer.json["reference"], "status": "received"}
    assert answer.headers["X-Correlation-ID"] == "corr-door-0202"
    assert answer.headers["Cache-Control"] == "private, no-store"
    [(command, _)] = drain(amqp_uri, SUBMISSIONS, expect=1)
    assert command["correlation_id"] == "corr-door-0202"
    assert command["payload"]["owner_id"] == parent
    assert command["payload"]["audit"]["actor_id"] == parent
    assert command["payload"]["audit"]["action"] == "application.submit"
    [line] = [r for r in caplog.records if getattr(r, "route", "") == "/api/v1/applications"]
    assert (line.method, line.route, line.status, line.role) == (
        "POST",
        "/api/v1/applications",
        202,
        "parent",
    )
    assert line.correlation_id == "corr-door-0202"
    exposed = gateway.client.get("/metrics").get_data(as_text=True)
    route = {"route": "/api/v1/applications", "method": "POST"}
    assert sample(exposed, "gateway_http_requests_total", **route, status="202") == 1
    assert gateway.rows(f"{AUDIT} WHERE action = 'application.submit'") == []


def test_what_the_door_hands_to_flask_is_counted_once_against_the_limit(
    start_gateway: Callable[..., Gateway],  # noqa: F811
    amqp_uri: str,
) -> None:
    gateway = start_gateway(RATE_LIMITS={"submit": "3/minute"})
    headers = gateway.login(make_account(gateway.db, PARENT))
    invalid = {**form(), "status": "offered"}  # refused by the schema: Flask answers it

    answers = [
        gateway.client.post(DOOR, json=invalid, headers=headers).status_code,
        gateway.client.post(DOOR, json=form(), headers=headers).status_code,
        gateway.client.post(DOOR, json=form(), headers=headers).status_code,
        gateway.client.post(DOOR, json=form(), headers=headers),
    ]

    assert answers[:3] == [400, 202, 202]
    refused = answers[3]
    assert (refused.status_code, refused.json["error"]["code"]) == (429, "too_many_requests")
    assert int(refused.headers["Retry-After"]) >= 1
    assert queue_depth(amqp_uri, SUBMISSIONS) == 2
