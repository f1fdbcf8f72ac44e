"""Help points, through the gateway on the real broker and databases: a help desk registers a
family's application after checking their papers, the guardian is texted how to take it
over (the SMS provider fake, over real HTTP), the parent signs up with that phone and sees
the application as their own; a help desk of another ward, and another family, get 404;
every step is in the department's audit search under the officer's id.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest
import requests

from gateway.auth.accounts import normalise_phone
from tests.e2e.conftest import System
from tests.support.accounts import (
    DEPARTMENT,
    HELPDESK,
    PARENT,
    bearer,
    credentials,
    make_account,
)
from tests.support.accounts import PASSWORD as OFFICER_PASSWORD
from tests.support.browser_process import play
from tests.support.portal import portal_session
from tests.support.processes import ROOT
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e

SYSTEM_OPTIONS = {"sms": True}  # the SMS provider fake (real HTTP) records every text

ROUND = "2027-grade_1"
SYSTEM_ENV = {}
GUARDIAN_PHONE = "0987654321"
PASSWORD = "the family's own passphrase"
TAKEN_OVER: dict[str, str] = {}  # the first test's application, for the screenshots


@pytest.fixture(scope="module")
def desks(system: System) -> dict[str, dict[str, str]]:
    """Logged-in help desks of two wards, a department user and an unrelated parent."""
    db = system.databases["gateway"]
    wards = _two_wards(system)
    made = {
        "desk": make_account(db, HELPDESK, username="hotro.a", ward=wards[0]),
        "other_desk": make_account(db, HELPDESK, username="hotro.b", ward=wards[1]),
        "department": make_account(db, DEPARTMENT),
        "stranger": make_account(db, PARENT),
    }
    return {who: _log_in(system, credentials(db, account)) for who, account in made.items()}


def test_a_help_point_registration_is_taken_over_by_the_family(
    system: System, sms: Any, desks: dict[str, dict[str, str]]
) -> None:
    form = {
        **_a_child(system),
        "identity": {"document_kind": "citizen_id_card", "last_digits": "4321"},
    }
    form["guardian"] = {**form["guardian"], "phone": GUARDIAN_PHONE, "language": "en"}

    registered = requests.post(
        system.api("/api/v1/helpdesk/applications"), json=form, headers=desks["desk"], timeout=30
    )

    assert registered.status_code == 202, registered.text
    reference = registered.json()["reference"]
    # The officer follows it until registration has checked it.
    followed = _until(
        system,
        lambda: _get(system, f"/api/v1/helpdesk/applications/{reference}", desks["desk"]),
        lambda answer: answer.status_code == 200 and answer.json()["status"] == "verified",
    ).json()
    assert followed["document_kind"] == "citizen_id_card"
    assert followed["document_last_digits"] == "4321"
    listed = _get(system, "/api/v1/helpdesk/applications", desks["desk"]).json()
    assert [a["reference"] for a in listed] == [reference]

    # The guardian is texted how to take it over (in the language chosen at the desk).
    phone = normalise_phone(GUARDIAN_PHONE)
    texts = _until(
        system,
        lambda: [m for m in sms()["messages"] if m["to"] == phone and reference in m["text"]],
        bool,
    )
    assert "help point" in texts[0]["text"] and "create an account" in texts[0]["text"]

    # Nobody else sees it: a help desk of another ward, another family.
    for who, path in (
        ("other_desk", f"/api/v1/helpdesk/applications/{reference}"),
        ("stranger", f"/api/v1/applications/{reference}"),
    ):
        answer = _get(system, path, desks[who])
        assert answer.status_code == 404, (who, answer.text)
        assert answer.json()["error"]["code"] == "not_found"
    assert _get(system, "/api/v1/helpdesk/applications", desks["other_desk"]).json() == []

    # The family takes it over: signs up with the phone and proves it by the texted code.
    signup = {"phone": GUARDIAN_PHONE, "password": PASSWORD, "language": "en"}
    answer = requests.post(system.api("/api/v1/auth/signup"), json=signup, timeout=30)
    assert answer.status_code == 202, answer.text
    code = _until(
        system,
        lambda: [m for m in sms()["messages"] if m["to"] == phone and "login code" in m["text"]],
        bool,
    )[-1]["text"]
    verify = {"phone": GUARDIAN_PHONE, "code": re.search(r"\b(\d{6})\b", code).group(1)}
    answer = requests.post(system.api("/api/v1/auth/signup/verify"), json=verify, timeout=30)
    assert answer.status_code == 200, answer.text
    family = bearer(answer.json()["access_token"])

    mine = _get(system, "/api/v1/applications", family).json()
    assert [(a["reference"], a["help_point"]) for a in mine] == [
        (reference, f"ward:{_two_wards(system)[0]}")
    ]
    assert _get(system, f"/api/v1/applications/{reference}", family).json()["status"] == "verified"
    TAKEN_OVER["reference"] = reference

    # The family's portal shows it, and that it was registered at a help point.
    browser = portal_session(system.url, {"phone": GUARDIAN_PHONE, "password": PASSWORD}, "en")
    page = browser.get(f"{system.url}/parent/applications/{reference}", timeout=30)
    assert page.status_code == 200
    assert "Registered at a help point" in page.text

    # Every step is in the department's audit search, under the officer's id.
    desk_id = _get(system, "/api/v1/auth/me", desks["desk"]).json()["account_id"]
    entries = _get(system, "/api/v1/audit", desks["department"], {"actor_id": desk_id}).json()
    actions = {(e["action"], e["role"], e["status"]) for e in entries["entries"]}
    assert ("helpdesk.register", "helpdesk", 202) in actions
    assert ("helpdesk.read", "helpdesk", 200) in actions
    assert ("helpdesk.list", "helpdesk", 200) in actions
    # ... and the family sees that a help point (not which officer) opened the record.
    seen = _get(system, f"/api/v1/applications/{reference}/access", family).json()
    assert "help_point" in {row["by"] for row in seen}
    assert desk_id not in json.dumps(seen)


def test_the_department_opens_help_desks_bound_to_a_school_or_a_ward(
    system: System, desks: dict[str, dict[str, str]]
) -> None:
    body = {"username": "hotro.th", "password": "a long passphrase", "school_code": "TH-0001"}

    made = requests.post(
        system.api("/api/v1/helpdesks"), json=body, headers=desks["department"], timeout=30
    )
    both = {**body, "username": "hotro.both", "ward_code": "00004"}
    refused = requests.post(
        system.api("/api/v1/helpdesks"), json=both, headers=desks["department"], timeout=30
    )

    assert made.status_code == 201, made.text
    assert made.json()["school_code"] == "TH-0001" and made.json()["ward_code"] is None
    assert refused.status_code == 400 and "school_code" in refused.json()["error"]["fields"]
    names = [d["username"] for d in _get(system, "/api/v1/helpdesks", desks["department"]).json()]
    assert {"hotro.a", "hotro.b", "hotro.th"} <= set(names)
    login = {"username": "hotro.th", "password": "a long passphrase"}
    token = requests.post(system.api("/api/v1/auth/token"), json=login, timeout=30).json()
    assert token["role"] == HELPDESK and token["school_code"] == "TH-0001"


def test_the_help_desk_pages_at_phone_and_desktop_width(system: System, tmp_path: Path) -> None:
    reference = TAKEN_OVER.get("reference")
    assert reference, "the first test of this module registers and takes over an application"
    config = {
        "url": system.url,
        "round_id": ROUND,
        "ward": _two_wards(system)[0],
        "reference": reference,
        "desk": {"who": "hotro.a", "password": OFFICER_PASSWORD},
        "family": {"who": GUARDIAN_PHONE, "password": PASSWORD},
        "department": {"who": "phong.gd.shots", "password": OFFICER_PASSWORD},
    }
    make_account(system.databases["gateway"], DEPARTMENT, username="phong.gd.shots")
    played = play("helpdesk_browser", config, tmp_path / "helpdesk.json", timeout=600)
    assert played.returncode == 0 and "[helpdesk] screenshots taken" in played.stdout, played.output
    for name in ("register", "applications", "application", "takeover", "accounts"):
        for width in ("phone", "desktop"):
            assert (ROOT / "docs" / "screenshots" / f"helpdesk-{name}-{width}.png").stat().st_size


# --- helpers ----------------------------------------------------------------------------------


def _two_wards(system: System) -> list[str]:
    wards = sorted({row["ward_code"] for row in _rows(system, "schools.csv")})
    return wards[:2]


def _a_child(system: System) -> dict[str, Any]:
    """A grade-1 application of the demo city whose child is in the register as typed."""
    register = {row["citizen_id"]: row for row in _rows(system, "register.csv")}
    for line in open(system.city / "applications.jsonl", encoding="utf-8"):
        form = json.loads(line)
        person = register.get(form["child"]["citizen_id"])
        if (
            form["round_id"] == ROUND
            and person is not None
            and (
                person["full_name"],
                person["date_of_birth"],
            )
            == (form["child"]["full_name"], form["child"]["date_of_birth"])
        ):
            return {**form, "preferences": form["preferences"][:1]}
    raise AssertionError("the demo city has no such child")


def _rows(system: System, name: str) -> list[dict[str, str]]:
    with open(system.city / name, encoding="utf-8") as file:
        return list(csv.DictReader(file))


def _log_in(system: System, login: dict[str, str]) -> dict[str, str]:
    answer = requests.post(system.api("/api/v1/auth/token"), json=login, timeout=30)
    assert answer.status_code == 200, answer.text
    return bearer(answer.json()["access_token"])


def _get(
    system: System, path: str, headers: dict[str, str], query: dict[str, str] | None = None
) -> Any:
    return requests.get(system.api(path), headers=headers, params=query, timeout=30)


def _until(system: System, fetch: Any, good: Any) -> Any:
    found: list[Any] = []

    def ready() -> bool:
        found[:] = [fetch()]
        return bool(good(found[0]))

    wait_for(ready, timeout=60, what=f"help point step\n{system.logs()}")
    return found[0]
