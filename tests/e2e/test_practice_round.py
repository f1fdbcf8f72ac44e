"""A practice round played through the gateway on the real processes, then wiped.

The department creates a practice round beside the real one, families (test accounts)
apply, it is closed, allocated, published; its notices go to the inbox only (no e-mail, no
SMS), its statistics count only its own applications (with the applications per hour);
then the department wipes it, and nothing of it is left in any service's database, nor in
the gateway's. The running system is the one every end-to-end test starts, with no round of its own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.e2e.conftest import System
from tests.support.accounts import DEPARTMENT, PARENT
from tests.support.api import get, log_in, post, until

pytestmark = pytest.mark.e2e

SYSTEM_OPTIONS = {"demo_rounds": False}
SYSTEM_ENV = {"RPC_TIMEOUT_SECONDS": "20"}

PRACTICE = "practice-2027-grade_1"
ROUNDS = "/api/v1/rounds"
FAMILIES = 12
# What each database holds about a round: (database, SQL counting the round's rows).
LEFT_BEHIND = {
    "allocation": [
        "SELECT count(*) FROM rounds WHERE round_id = :r",
        "SELECT count(*) FROM applications WHERE round_id = :r",
        "SELECT count(*) FROM placements WHERE round_id = :r",
        "SELECT count(*) FROM waitlist_entries WHERE round_id = :r",
        "SELECT count(*) FROM export_chunks WHERE round_id = :r",
    ],
    "registration": [
        "SELECT count(*) FROM rounds WHERE round_id = :r",
        "SELECT count(*) FROM applications WHERE round_id = :r",
    ],
    "notification": ["SELECT count(*) FROM inbox_messages WHERE round_id = :r"],
    "gateway": ["SELECT count(*) FROM application_claims WHERE round_id = :r"],
}


def test_a_practice_round_runs_apart_sends_nothing_out_and_is_wiped_everywhere(
    system: System,  # noqa: F811
    city: Path,  # noqa: F811
) -> None:
    department, tester = log_in(system, DEPARTMENT), log_in(system, PARENT)
    body = {"level": "grade_1", "year": 2027, "offer_days": 3, "practice": True}
    created = post(system, ROUNDS, department, body)
    assert created.status_code == 201, created.text
    assert created.json()["round_id"] == PRACTICE and created.json()["practice"] is True
    assert post(system, f"{ROUNDS}/{PRACTICE}/open", department).json()["status"] == "open"
    until(system, lambda: _listed_as_practice(system), "the gateway to list the practice round")

    references = [_apply(system, tester, form) for form in _families(city)]
    until(system, lambda: _all_checked(system, tester, references), "verification", timeout=120)
    assert post(system, f"{ROUNDS}/{PRACTICE}/close", department).status_code == 200
    until(
        system,
        lambda: post(system, f"{ROUNDS}/{PRACTICE}/allocate", department).status_code == 202,
        "allocate to be accepted",
    )
    until(system, lambda: _in(system, department, "allocated"), "the preview")
    stats = get(system, f"{ROUNDS}/{PRACTICE}/stats", department).json()
    verified = sum(1 for ref in references if _status(system, tester, ref) == "verified")
    assert stats["statistics"]["applicants"] == verified
    assert sum(n for _, n in stats["applications_per_hour"]) == FAMILIES
    assert post(system, f"{ROUNDS}/{PRACTICE}/publish", department).status_code == 202
    until(system, lambda: _in(system, department, "published"), "publication")
    until(
        system,
        lambda: _count(system, "notification", _INBOX_OUTCOMES, r=PRACTICE) >= verified,
        "every outcome in the testers' inbox",
    )
    sent = "SELECT count(*) FROM deliveries d JOIN inbox_messages i ON i.event_id = d.event_id "
    sent += "WHERE i.round_id = :r AND d.channel <> 'inbox'"
    assert _count(system, "notification", sent, r=PRACTICE) == 0  # no e-mail, no SMS

    wiped = post(system, f"{ROUNDS}/{PRACTICE}/discard", department)
    assert wiped.status_code == 200, wiped.text
    assert wiped.json()["claims_removed"] == FAMILIES
    until(system, lambda: not _left_behind(system), "every service to forget the round")
    assert get(system, f"{ROUNDS}/{PRACTICE}", department).status_code == 404
    assert get(system, f"/api/v1/applications/{references[0]}", tester).status_code == 404
    assert post(system, f"{ROUNDS}/{PRACTICE}/discard", department).status_code == 404


def test_a_real_round_can_never_be_wiped(system: System) -> None:  # noqa: F811
    department = log_in(system, DEPARTMENT)
    created = post(system, ROUNDS, department, {"level": "grade_6", "year": 2027})
    assert created.status_code == 201, created.text

    refused = post(system, f"{ROUNDS}/2027-grade_6/discard", department)

    assert refused.status_code == 409
    assert get(system, f"{ROUNDS}/2027-grade_6", department).json()["status"] == "draft"


_INBOX_OUTCOMES = (
    "SELECT count(*) FROM inbox_messages WHERE round_id = :r AND template IN "
    "('seat_offered', 'application_waitlisted', 'application_unplaced')"
)


def _families(files: Path) -> list[dict[str, Any]]:
    forms = [json.loads(line) for line in open(files / "applications.jsonl", encoding="utf-8")]
    grade_1 = [form for form in forms if form["round_id"] == "2027-grade_1"][:FAMILIES]
    return [{**form, "round_id": PRACTICE} for form in grade_1]


def _apply(live: System, tester: dict[str, str], form: dict[str, Any]) -> str:
    answer = post(live, "/api/v1/applications", tester, form)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["reference"])


def _listed_as_practice(live: System) -> bool:
    listed = {r["round_id"]: r for r in get(live, ROUNDS).json()}
    return PRACTICE in listed and listed[PRACTICE]["practice"] is True


def _status(live: System, who: dict[str, str], reference: str) -> str | None:
    answer = get(live, f"/api/v1/applications/{reference}", who)
    return answer.json()["status"] if answer.status_code == 200 else None


def _all_checked(live: System, who: dict[str, str], references: list[str]) -> bool:
    return all(_status(live, who, ref) in ("verified", "rejected") for ref in references)


def _in(live: System, department: dict[str, str], status: str) -> bool:
    found = get(live, f"{ROUNDS}/{PRACTICE}", department).json()
    return bool(found["status"] == status and found["job"] is None)


def _count(live: System, database: str, sql: str, **values: str) -> int:
    engine = create_engine(live.databases[database])
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(sql), values).scalar_one())
    finally:
        engine.dispose()


def _left_behind(live: System) -> dict[str, int]:
    counts = {
        sql: _count(live, database, sql, r=PRACTICE)
        for database, queries in LEFT_BEHIND.items()
        for sql in queries
    }
    return {sql: n for sql, n in counts.items() if n}
