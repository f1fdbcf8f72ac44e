"""The access matrix: every route of the gateway, asked by an anonymous caller, two parents,
staff of two schools and the department, on the real processes (gunicorn with gevent
workers, `nameko run` ×3) with a published round, so the objects asked about exist.

The routes come from the app's own URL map: a route without an entry in MATRIX fails the
test, and so does an entry without a route. For each route: a caller without a token gets
401, a role that may not use it 403, a parent asking for another family's application and
staff asking for another school 404 with exactly the body of a missing object, and the
rightful caller gets through (whatever the backend then says: 200, 202, 409...).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from gateway.app import create_app
from tests.e2e.conftest import System
from tests.support.accounts import (
    DEPARTMENT,
    HELPDESK,
    PARENT,
    STAFF,
    bearer,
    credentials,
    gateway_config,
    make_account,
)
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e

ROUND = "2027-grade_1"
ACTORS = ("anonymous", "parent_1", "parent_2", "staff_1", "staff_2", "department")
ACTORS += ("helpdesk_1", "helpdesk_2")
ROLE_OF = {
    "parent_1": PARENT,
    "parent_2": PARENT,
    "staff_1": STAFF,
    "staff_2": STAFF,
    "department": DEPARTMENT,
    "helpdesk_1": HELPDESK,  # at a help point of the matrix's ward
    "helpdesk_2": HELPDESK,  # at another ward's
}
MISSING = {"reference": "TSNOSUCHAPPLICATION", "code": "XX-9999"}
NO_REQUEST = "00000000-0000-4000-8000-000000000000"  # a correction request that does not exist
EVIDENCE = {"text": "The register misspells the name.", "evidence": b"\x89PNG\r\n\x1a\n0000"}
EVERYONE: frozenset[str] = frozenset()
ALL_ROLES = frozenset({PARENT, STAFF, DEPARTMENT, HELPDESK})


@dataclass
class World:
    """The running system, who is logged in, and the objects of the matrix."""

    system: System
    accounts: dict[str, str]
    headers: dict[str, dict[str, str]]
    forms: list[dict[str, Any]]  # parent_1's child A (at school_1), parent_2's child B
    references: list[str]
    schools: list[str]
    ward: str
    helpdesk_reference: str  # the application helpdesk_1 registered for a family


@dataclass(frozen=True)
class Rule:
    """Who may call a route, and how to call it."""

    roles: frozenset[str]
    # "owner": parent_1's application; "school": staff_1's school; "helpdesk": the application
    # helpdesk_1 registered
    scope: str | None = None
    body: Callable[[World], Any] | None = None
    query: Callable[[World, dict[str, str]], dict[str, str]] | None = None
    status: int | None = None  # a public route's one answer for everybody, if not 2xx
    fields: dict[str, str] = field(default_factory=dict)
    multipart: dict[str, Any] | None = None  # a form with files, instead of a JSON body


def parents(scope: str | None = None, **kwargs: Any) -> Rule:
    return Rule(frozenset({PARENT}), scope, **kwargs)


def staff(**kwargs: Any) -> Rule:
    return Rule(frozenset({STAFF}), "school", **kwargs)


def department(**kwargs: Any) -> Rule:
    return Rule(frozenset({DEPARTMENT}), **kwargs)


def anyone(**kwargs: Any) -> Rule:
    return Rule(EVERYONE, **kwargs)


def helpdesks(scope: str | None = None, **kwargs: Any) -> Rule:
    return Rule(frozenset({HELPDESK}), scope, **kwargs)


IDENTITY = {"document_kind": "passport", "last_digits": "0123"}
NEW_DESK = {"username": "hotro.matrix", "password": "a long passphrase", "ward_code": "00004"}


SIGNUP = {"phone": "0911222333", "password": "a long passphrase"}
APP = "/api/v1/applications/<string:reference>"
INTAKE = "/api/v1/schools/<string:code>/intake"
ROUNDS = "/api/v1/rounds/<string:round_id>"
CORRECTION = "/api/v1/corrections/<string:request_id>"
# In the order the checks run: reads first, then the changes a round goes through; logout
# last, since it revokes the callers' tokens.
MATRIX: dict[tuple[str, str], Rule] = {
    ("GET", "/static/<path:filename>"): anyone(),
    ("GET", "/openapi.json"): anyone(),
    ("GET", "/docs"): anyone(),
    ("GET", "/healthz"): anyone(),
    ("GET", "/readyz"): anyone(),
    ("GET", "/readyz/replica"): anyone(),
    ("GET", "/metrics"): anyone(),
    ("GET", "/api/v1/rounds"): anyone(),
    ("GET", "/api/v1/catchment"): anyone(query=lambda w, _: {"ward": w.ward, "level": "grade_1"}),
    ("GET", "/api/v1/schools"): anyone(query=lambda w, _: {"level": "grade_1"}),
    ("GET", "/api/v1/finder"): anyone(query=lambda w, _: {"ward": w.ward, "level": "grade_1"}),
    # The matrix's round is published: no live demand or chances any more, for anyone.
    ("GET", "/api/v1/demand"): anyone(query=lambda w, _: {"round_id": ROUND}, status=404),
    ("GET", "/api/v1/chances"): anyone(query=lambda w, _: {"round_id": ROUND}, status=404),
    ("GET", "/api/v1/outcomes"): anyone(),
    ("GET", "/api/v1/outcomes/<string:round_id>"): anyone(),
    ("GET", "/api/v1/outcomes/<string:round_id>.csv"): anyone(),
    ("POST", "/api/v1/auth/signup"): anyone(body=lambda w: SIGNUP),
    ("POST", "/api/v1/auth/signup/verify"): anyone(
        body=lambda w: {"phone": SIGNUP["phone"], "code": "123456"}, status=400
    ),
    ("POST", "/api/v1/auth/code"): anyone(body=lambda w: {"phone": SIGNUP["phone"]}),
    ("POST", "/api/v1/auth/token"): anyone(
        body=lambda w: {"username": "nobody", "password": "wrong"}, status=401
    ),
    ("POST", "/api/v1/auth/refresh"): anyone(
        body=lambda w: {"refresh_token": "x" * 43}, status=401
    ),
    ("GET", "/api/v1/auth/me"): Rule(ALL_ROLES),
    ("GET", "/api/v1/applications"): parents(),
    ("GET", "/api/v1/helpdesk/applications"): helpdesks(),
    ("GET", "/api/v1/helpdesk/applications/<string:reference>"): helpdesks("helpdesk"),
    # The matrix's round is published: a registration now is refused (409), nothing is made.
    ("POST", "/api/v1/helpdesk/applications"): helpdesks(
        body=lambda w: {**w.forms[0], "identity": IDENTITY}, status=409
    ),
    ("GET", "/api/v1/helpdesks"): department(),
    ("POST", "/api/v1/helpdesks"): department(body=lambda w: NEW_DESK),
    ("POST", "/api/v1/applications"): parents(body=lambda w: w.forms[0]),
    ("GET", APP): parents("owner"),
    ("GET", APP + "/access"): parents("owner"),
    ("GET", APP + "/estimate"): parents("owner"),
    ("GET", APP + "/finder"): parents("owner"),
    ("GET", "/api/v1/audit"): department(query=lambda w, ids: {"reference": ids["reference"]}),
    ("GET", "/api/v1/audit.csv"): department(),
    ("POST", APP + "/withdraw"): parents("owner"),
    # The matrix's applications are verified: no correction may be asked (409), none exists.
    ("GET", APP + "/corrections"): parents("owner"),
    ("POST", APP + "/corrections"): parents("owner", multipart=EVIDENCE, status=409),
    ("GET", APP + "/corrections/<string:request_id>/evidence"): parents("owner", status=404),
    ("GET", "/api/v1/corrections"): department(),
    ("GET", CORRECTION): department(status=404),
    ("GET", CORRECTION + "/evidence"): department(status=404),
    ("POST", CORRECTION + "/decision"): department(
        body=lambda w: {"decision": "refused", "reason": "no evidence"}, status=404
    ),
    ("GET", "/api/v1/inbox"): parents(
        "owner", query=lambda w, ids: {"reference": ids["reference"]}
    ),
    ("POST", "/api/v1/offers/<string:reference>/accept"): parents("owner"),
    ("GET", "/api/v1/me/preferences"): parents(),
    ("PUT", "/api/v1/me/preferences"): parents(
        body=lambda w: {"language": "en", "email": True, "sms": True}
    ),
    ("GET", INTAKE): staff(),
    # Both children hold a seat in the published round: erasure is refused (409), nothing
    # is erased, and another family's reference is the missing-object answer.
    ("POST", APP + "/erasure"): parents("owner", status=409),
    ("POST", "/api/v1/auth/me/erasure"): parents(status=409),
    ("POST", INTAKE + "/<string:reference>/confirm"): staff(),
    ("POST", INTAKE + "/<string:reference>/reject"): staff(body=lambda w: {"reason": "papers"}),
    ("POST", "/api/v1/offers/<string:reference>/decline"): parents("owner"),
    ("POST", "/api/v1/rounds"): department(body=lambda w: {"level": "grade_6", "year": 2028}),
    ("GET", ROUNDS): department(),
    ("GET", ROUNDS + "/commitment"): anyone(),
    ("GET", ROUNDS + "/stats"): department(),
    ("GET", ROUNDS + "/overview"): department(),
    ("GET", ROUNDS + "/schools"): department(),
    ("GET", ROUNDS + "/live"): department(),
    ("GET", ROUNDS + "/results.csv"): department(),
    ("GET", ROUNDS + "/reserved-seats"): department(),
    ("GET", ROUNDS + "/late-applications"): department(),
    # The round is published: seats are fixed and late applications closed (409 both).
    ("PUT", ROUNDS + "/reserved-seats"): department(
        status=409,
        body=lambda w: {
            "seats": [{"school_code": w.schools[0], "category": "khuyet_tat", "seats": 1}]
        },
    ),
    ("POST", ROUNDS + "/late-applications"): department(
        status=409,
        body=lambda w: {
            **{k: v for k, v in w.forms[0].items() if k != "round_id"},
            "reason": "moved into the ward after the deadline",
        },
    ),
    ("POST", ROUNDS + "/open"): department(),
    ("POST", ROUNDS + "/close"): department(),
    ("POST", ROUNDS + "/allocate"): department(),
    ("POST", ROUNDS + "/publish"): department(),
    ("POST", ROUNDS + "/finalize"): department(),
    ("POST", ROUNDS + "/discard"): department(),  # a real round: refused (409), never wiped
    ("POST", "/api/v1/auth/logout"): Rule(ALL_ROLES),
}


def routes_of_the_app() -> set[tuple[str, str]]:
    """(method, rule) of every route Flask would serve, HEAD and OPTIONS aside."""
    app = create_app(gateway_config("memory://", "sqlite://", RATELIMIT_STORAGE_URI="memory://"))
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }


def call(world: World, method: str, rule: str, spec: Rule, actor: str, missing: bool) -> Any:
    """One request of `actor` to the route, about the matrix's object (or a missing one)."""
    ids = dict(MISSING) if missing else {"reference": world.references[0]}
    if spec.scope == "helpdesk" and not missing:
        ids["reference"] = world.helpdesk_reference
    ids.setdefault("code", world.schools[0])
    values = {**ids, "round_id": ROUND, "filename": "nothing.txt", "request_id": NO_REQUEST}
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda match: values[match.group(1)], rule)
    if spec.multipart is not None:
        form = {k: v for k, v in spec.multipart.items() if isinstance(v, str)}
        files = {k: ("f", v) for k, v in spec.multipart.items() if isinstance(v, bytes)}
        return requests.request(
            method,
            world.system.api(path),
            data=form,
            files=files,
            headers=world.headers.get(actor, {}),
            timeout=60,
        )
    return requests.request(
        method,
        world.system.api(path),
        params=spec.query(world, ids) if spec.query else None,
        json=spec.body(world) if spec.body else ({} if method == "POST" else None),
        headers=world.headers.get(actor, {}),
        timeout=60,
    )


def body_of(answer: Any) -> Any:
    try:
        return answer.json()
    except ValueError:
        return answer.text


def outcome(spec: Rule, actor: str) -> str:
    """What the matrix expects: allowed, unauthenticated, forbidden or foreign (404)."""
    if not spec.roles:
        return "allowed"
    if actor == "anonymous":
        return "unauthenticated"
    if ROLE_OF[actor] not in spec.roles:
        return "forbidden"
    if spec.scope == "owner" and actor != "parent_1":
        return "foreign"
    if spec.scope == "school" and actor != "staff_1":
        return "foreign"
    if spec.scope == "helpdesk" and actor != "helpdesk_1":
        return "foreign"
    return "allowed"


def test_every_route_has_an_entry_in_the_matrix_and_every_entry_a_route() -> None:
    routes = routes_of_the_app()

    assert routes - MATRIX.keys() == set(), "routes without an access-matrix entry"
    assert MATRIX.keys() - routes == set(), "matrix entries without a route"


def test_the_access_matrix(world: World) -> None:
    failures = []
    for (method, rule), spec in MATRIX.items():
        rightful = next(
            (actor for role, actor in RIGHTFUL.items() if role in spec.roles), "staff_1"
        )
        missing = None
        if spec.scope:
            answer = call(world, method, rule, spec, rightful, missing=True)
            missing = (answer.status_code, body_of(answer))
            assert missing[0] == 404, (method, rule, missing)
        # Refusals first (they change nothing), the rightful callers last.
        for actor in sorted(ACTORS, key=lambda a: outcome(spec, a) == "allowed"):
            expected = outcome(spec, actor)
            answer = call(world, method, rule, spec, actor, missing=False)
            got = (answer.status_code, body_of(answer))
            problem = judge(spec, expected, got, missing)
            if problem:
                failures.append(f"{method} {rule} as {actor}: {problem}")
    assert failures == [], "\n".join(failures)


RIGHTFUL = {PARENT: "parent_1", HELPDESK: "helpdesk_1"}


def judge(spec: Rule, expected: str, got: tuple[int, Any], missing: Any) -> str | None:
    """Why an answer breaks the matrix, or None."""
    status, body = got
    if expected == "unauthenticated":
        return None if status == 401 else f"expected 401, got {status} {body}"
    if expected == "forbidden":
        return None if status == 403 else f"expected 403, got {status} {body}"
    if expected == "foreign":
        return None if got == missing else f"expected the missing-object answer, got {got}"
    if status >= 500:
        return f"server error {status} {body}"
    if spec.status is not None:
        return None if status == spec.status else f"expected {spec.status}, got {status}"
    if status in (401, 403):
        return f"refused: {status} {body}"
    if missing is not None and got == missing:
        return "the rightful caller got the missing-object answer"
    return None


def test_a_parent_lists_only_their_own_applications(world: World) -> None:
    db = world.system.databases["gateway"]
    headers = _log_in(world.system, db, world.accounts["parent_2"])  # the matrix logged out

    mine = requests.get(world.system.api("/api/v1/applications"), headers=headers, timeout=30)

    assert [a["reference"] for a in mine.json()] == [world.references[1]]


def test_metrics_add_up_every_worker(world: World) -> None:
    exposed = requests.get(world.system.api("/metrics"), timeout=30).text

    assert 'gateway_http_requests_total{method="GET",route="/healthz",status="200"}' in exposed
    assert 'gateway_publish_confirms_total{command="submit_application"}' in exposed
    assert "gateway_http_request_duration_seconds_bucket" in exposed


# --- the world: accounts, two verified applications, a published round ----------------------


@pytest.fixture(scope="module")
def world(system: System) -> World:
    """Five accounts logged in; parent_1's child offered a seat at staff_1's school, parent_2's
    at staff_2's; the round published."""
    forms = _two_children(system)
    schools = [form["preferences"][0] for form in forms]
    db = system.databases["gateway"]
    accounts = {
        "parent_1": make_account(db, PARENT),
        "parent_2": make_account(db, PARENT),
        "staff_1": make_account(db, STAFF, school=schools[0]),
        "staff_2": make_account(db, STAFF, school=schools[1]),
        "department": make_account(db, DEPARTMENT),
        "helpdesk_1": make_account(db, HELPDESK, ward=_wards(system)[0]),
        "helpdesk_2": make_account(db, HELPDESK, ward=_wards(system)[1]),
    }
    headers = {actor: _log_in(system, db, account) for actor, account in accounts.items()}
    references = []
    for actor, form in zip(("parent_1", "parent_2"), forms, strict=True):
        answer = requests.post(
            system.api("/api/v1/applications"), json=form, headers=headers[actor], timeout=30
        )
        assert answer.status_code == 202, answer.text
        references.append(answer.json()["reference"])
    for actor, reference in zip(("parent_1", "parent_2"), references, strict=True):
        _until_status(system, headers[actor], reference, {"verified"})
    assisted = _registered_at_a_help_point(system, headers["helpdesk_1"], forms)
    _run_round(system, headers["department"])
    for actor, reference in zip(("parent_1", "parent_2"), references, strict=True):
        _until_status(system, headers[actor], reference, {"offered"})
    ward = next(csv.DictReader(open(system.city / "schools.csv", encoding="utf-8")))["ward_code"]
    return World(system, accounts, headers, forms, references, schools, ward, assisted)


def _wards(system: System) -> list[str]:
    return sorted({row["ward_code"] for row in _csv(system, "schools.csv")})[:2]


def _csv(system: System, name: str) -> list[dict[str, str]]:
    with open(system.city / name, encoding="utf-8") as file:
        return list(csv.DictReader(file))


def _registered_at_a_help_point(
    system: System, desk: dict[str, str], taken: list[dict[str, Any]]
) -> str:
    """A third child's application, registered by the help desk for a family; once checked."""
    register = {row["citizen_id"] for row in _csv(system, "register.csv")}
    busy = {form["child"]["citizen_id"] for form in taken}
    for line in open(system.city / "applications.jsonl", encoding="utf-8"):
        form = json.loads(line)
        citizen = form["child"]["citizen_id"]
        if form["round_id"] == ROUND and citizen in register and citizen not in busy:
            break
    else:
        raise AssertionError("the demo city has no third child")
    body = {**form, "preferences": form["preferences"][:1], "identity": IDENTITY}
    body["guardian"] = {**form["guardian"], "phone": "0966000111"}
    answer = requests.post(
        system.api("/api/v1/helpdesk/applications"), json=body, headers=desk, timeout=30
    )
    assert answer.status_code == 202, answer.text
    reference = str(answer.json()["reference"])

    def checked() -> Any:
        found = requests.get(system.api(f"/api/v1/helpdesk/applications/{reference}"), headers=desk)
        return found.status_code == 200 and found.json()["status"] in ("verified", "rejected")

    wait_for(checked, timeout=60, what=f"{reference} to be checked\n{system.logs()}")
    return reference


def _two_children(system: System) -> list[dict[str, Any]]:
    """Two grade-1 applications of the demo city whose children are in the register and who
    put different schools first."""
    register = {
        row["citizen_id"]: row
        for row in csv.DictReader(open(system.city / "register.csv", encoding="utf-8"))
    }
    chosen: list[dict[str, Any]] = []
    for line in open(system.city / "applications.jsonl", encoding="utf-8"):
        form = json.loads(line)
        person = register.get(form["child"]["citizen_id"])
        if form["round_id"] != ROUND or person is None:
            continue
        if (person["full_name"], person["date_of_birth"]) != (
            form["child"]["full_name"],
            form["child"]["date_of_birth"],
        ):
            continue
        if chosen and chosen[0]["preferences"][0] == form["preferences"][0]:
            continue
        chosen.append({**form, "preferences": form["preferences"][:1]})
        if len(chosen) == 2:
            return chosen
    raise AssertionError("the demo city has no two such children")


def _log_in(system: System, db: str, account: str) -> dict[str, str]:
    answer = requests.post(
        system.api("/api/v1/auth/token"), json=credentials(db, account), timeout=30
    )
    assert answer.status_code == 200, answer.text
    return bearer(answer.json()["access_token"])


def _until_status(system: System, who: dict[str, str], reference: str, wanted: set[str]) -> None:
    def status() -> Any:
        answer = requests.get(system.api(f"/api/v1/applications/{reference}"), headers=who)
        return answer.status_code == 200 and answer.json()["status"] in wanted

    wait_for(status, timeout=60, what=f"{reference} to be {wanted}\n{system.logs()}")


def _run_round(system: System, department: dict[str, str]) -> None:
    """Close, allocate and publish the round, as the department does through the API."""
    base = system.api(f"/api/v1/rounds/{ROUND}")
    for step, status in (("close", "closed"), ("allocate", "allocated"), ("publish", "published")):

        def asked(step: str = step) -> bool:
            answer = requests.post(f"{base}/{step}", headers=department, timeout=60)
            # 409 intake_not_complete: the close is still on its way through registration's
            # queue (it waits in a batch); the department asks again.
            settling = answer.status_code == 409 and "intake_not_complete" in answer.text
            assert answer.status_code in (200, 202) or settling, (step, answer.text)
            return answer.status_code in (200, 202)

        wait_for(asked, timeout=90, what=f"{step} to be accepted")

        def done(status: str = status) -> Any:
            round_ = requests.get(base, headers=department, timeout=30).json()
            return round_["job"] is None and round_["status"] == status and round_

        wait_for(done, timeout=90, what=f"the round to be {status}\n{system.logs()}")
