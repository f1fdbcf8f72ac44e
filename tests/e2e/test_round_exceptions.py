"""The exceptions of a round through the gateway, on the real broker, databases and processes:
a late application accepted after close, a twins round, and reserved seats.

A tiny city of its own (two wards, a few schools, a register with a household of twins and
a child of the `khuyet_tat` category) is loaded as an operator loads one. Each test runs its
own round (another year) from create to publish, and reads the results as the family, the
school and the department see them.
"""

from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from services.allocation.engine import verify_export
from tests.e2e.conftest import System
from tests.support.accounts import (
    DEPARTMENT,
    PARENT,
    STAFF,
    account_row,
    bearer,
    credentials,
    make_account,
)
from tests.support.browser_process import play
from tests.support.portal import as_a_browser, portal_session
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e

# The tiny city below (this module's `city`), no round yet: each test makes its own.
SYSTEM_OPTIONS = {"demo_rounds": False}
# Rounds close at once here (no window notice): every gateway worker's view of the windows is
# at most VIEW_MAX seconds old, so past that a parent's submission is refused at the door.
VIEW_MAX = 1.0
SYSTEM_ENV = {
    "RPC_TIMEOUT_SECONDS": "20",
    "ROUND_CACHE_SECONDS": "0.5",
    "ROUND_VIEW_MAX_SECONDS": str(VIEW_MAX),
}
ROUNDS = "/api/v1/rounds"
# What the late test leaves for the browser: the late family's login and its reference.
SHARED: dict[str, Any] = {}
W1, W2 = "00001", "00004"
# code, capacity, catchment; every school is grade_1.
SCHOOLS = [
    ("TH-LATE-A", 2, [W1]),
    ("TH-LATE-B", 3, [W1, W2]),
    ("TH-TWIN-A", 2, [W1]),
    ("TH-TWIN-B", 4, [W1]),
    ("TH-RES-A", 2, [W1]),
    ("TH-RES-B", 5, [W1]),
    ("TH-RES-C", 2, [W1]),
]


def person(n: int, year: int, ward: str, household: str, category: str = "") -> list[str]:
    """A register row: citizen ID 001 2 yy 00nnnn (born in `year`, male)."""
    born = f"{year}-03-{1 + n % 27:02d}"
    return [f"0012{year % 100:02d}{n:06d}", f"Trẻ Số {n}", born, "M", ward, household, category]


def register_rows() -> list[list[str]]:
    rows = []
    # Late round (2027, children born 2021): two on-time in W2, one late in W1.
    rows += [person(1, 2021, W2, "HL1"), person(2, 2021, W2, "HL2"), person(3, 2021, W1, "HL3")]
    # Twins round (2028, born 2022): twins 11 and 12 in one household, three others.
    rows += [person(11, 2022, W1, "HT1"), person(12, 2022, W1, "HT1")]
    rows += [person(n, 2022, W1, f"HT{n}") for n in (13, 14, 15)]
    # Reserved round (2029, born 2023): 21 of the category, 22-24 not, 25-26 for school C.
    rows += [person(21, 2023, W1, "HR21", "khuyet_tat")]
    rows += [person(n, 2023, W1, f"HR{n}") for n in (22, 23, 24, 25, 26)]
    # The portal's round (2030, born 2024): one child the department accepts late.
    rows += [person(31, 2024, W1, "HP31")]
    return rows


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("exceptions-city")
    _write(directory / "wards.csv", ["code", "name"], [[W1, "Phường Một"], [W2, "Phường Hai"]])
    schools = [
        [code, f"Trường {code}", "grade_1", str(cap), W1, ";".join(wards), "", ""]
        for code, cap, wards in SCHOOLS
    ]
    header = ["code", "name", "level", "capacity", "ward_code", "catchment", "lat", "lon"]
    _write(directory / "schools.csv", header, schools)
    columns = [
        "citizen_id", "full_name", "date_of_birth", "gender", "ward_code", "household_id",
        "priority_category",
    ]  # fmt: skip
    _write(directory / "register.csv", columns, register_rows())
    return directory


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


class Actor:
    """An account logged in through the gateway."""

    def __init__(self, system: System, role: str, **account: Any) -> None:
        db = system.databases["gateway"]
        self.id = make_account(db, role, **account)
        self.phone = account_row(db, self.id).phone
        self.login = credentials(db, self.id)
        answer = requests.post(
            system.api("/api/v1/auth/token"), json=credentials(db, self.id), timeout=30
        )
        assert answer.status_code == 200, answer.text
        self.system, self.headers = system, bearer(answer.json()["access_token"])

    def call(self, method: str, path: str, body: Any = None) -> requests.Response:
        url = self.system.api(path)
        return requests.request(method, url, json=body, headers=self.headers, timeout=30)


def until(system: System, probe: Any, what: str, timeout: float = 90) -> Any:
    try:
        return wait_for(probe, timeout=timeout, interval=0.3, what=what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{system.logs()}") from exc


def form(n: int, year: int, schools: list[str], phone: str) -> dict[str, Any]:
    """A family's application for register person `n` (born `year`)."""
    citizen_id, name, born, *_ = person(n, year, W1, "")
    return {
        "child": {"citizen_id": citizen_id, "full_name": name, "date_of_birth": born},
        "preferences": schools,
        "guardian": {
            "full_name": "Nguyễn Thị Bình",
            "phone": phone,
            "email": f"family{n}@example.com",
            "language": "vi",
        },
    }


class Round:
    """One round driven by the department through the gateway."""

    def __init__(self, system: System, department: Actor, year: int, **options: Any) -> None:
        self.system, self.department, self.id = system, department, f"{year}-grade_1"
        body = {"level": "grade_1", "year": year, "max_preferences": 3, **options}
        created = department.call("POST", ROUNDS, body)
        assert created.status_code == 201, created.text
        assert department.call("POST", f"{ROUNDS}/{self.id}/open").json()["status"] == "open"
        until(
            system,
            lambda: any(r["round_id"] == self.id for r in requests.get(system.api(ROUNDS)).json()),
            "the gateway to see the round open",
        )

    def apply(self, parent: Actor, application: dict[str, Any]) -> str:
        answer = parent.call("POST", "/api/v1/applications", {"round_id": self.id, **application})
        assert answer.status_code == 202, answer.text
        return str(answer.json()["reference"])

    def verified(self, parent: Actor, reference: str) -> None:
        def status() -> bool:
            answer = parent.call("GET", f"/api/v1/applications/{reference}")
            return answer.status_code == 200 and answer.json()["status"] == "verified"

        until(self.system, status, f"{reference} to be verified")

    def close(self) -> None:
        closed = self.department.call("POST", f"{ROUNDS}/{self.id}/close").json()
        assert closed["status"] == "closed", closed

    def allocate_and_publish(self) -> None:
        until(
            self.system,
            lambda: self.department.call("POST", f"{ROUNDS}/{self.id}/allocate").status_code == 202,
            "allocate to be accepted once the intake is complete",
        )
        self.wait("allocated")
        publish = self.department.call("POST", f"{ROUNDS}/{self.id}/publish")
        assert publish.status_code == 202, publish.text
        self.wait("published")

    def wait(self, status: str) -> dict[str, Any]:
        def there() -> Any:
            answer = self.department.call("GET", f"{ROUNDS}/{self.id}").json()
            return answer if answer["status"] == status and answer["job"] is None else None

        found: dict[str, Any] = until(self.system, there, f"{self.id} to be {status}")
        return found

    def result(self, parent: Actor, reference: str) -> dict[str, Any]:
        answer = parent.call("GET", f"/api/v1/applications/{reference}")
        assert answer.status_code == 200, answer.text
        application: dict[str, Any] = answer.json()
        assert application["result"] is not None, application
        return application

    def export(self) -> str:
        return self.department.call("GET", f"{ROUNDS}/{self.id}/results.csv").text


def test_a_late_application_takes_only_the_seats_left(system: System) -> None:
    department, family = Actor(system, DEPARTMENT), Actor(system, PARENT)
    late_family = Actor(system, PARENT)
    round_ = Round(system, department, 2027)
    on_time = [round_.apply(family, form(n, 2021, ["TH-LATE-A"], family.phone)) for n in (1, 2)]
    for reference in on_time:
        round_.verified(family, reference)
    round_.close()
    # A parent's submission after close is refused, as ever: late is the department's act.
    until(
        system,
        lambda: all(r["round_id"] != round_.id for r in requests.get(system.api(ROUNDS)).json()),
        "the gateway to see the round closed",
    )
    time.sleep(VIEW_MAX + 0.5)  # ... and every other worker of it, at the latest by then
    late_form = form(3, 2021, ["TH-LATE-A", "TH-LATE-B"], late_family.phone)
    after = late_family.call("POST", "/api/v1/applications", {"round_id": round_.id, **late_form})
    assert after.status_code == 409 and after.json()["error"]["code"] == "round_not_open"
    no_reason = department.call("POST", f"{ROUNDS}/{round_.id}/late-applications", late_form)
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["error"]["fields"]
    reason = "Gia đình chuyển đến phường sau hạn nộp (giấy xác nhận cư trú)"
    accepted = department.call(
        "POST", f"{ROUNDS}/{round_.id}/late-applications", {**late_form, "reason": reason}
    )
    assert accepted.status_code == 202, accepted.text
    late_ref = accepted.json()["reference"]
    SHARED.update(family=late_family.login, late_reference=late_ref)
    again = department.call(
        "POST", f"{ROUNDS}/{round_.id}/late-applications", {**late_form, "reason": reason}
    )
    assert again.status_code == 409, again.text  # one application per child and round
    round_.verified(late_family, late_ref)
    listed = department.call("GET", f"{ROUNDS}/{round_.id}/late-applications").json()
    assert [(a["reference"], a["reason"], a["status"]) for a in listed] == [
        (late_ref, reason, "verified")
    ]
    assert listed[0]["accepted_by"] == department.id

    round_.allocate_and_publish()

    # The late child lives in TH-LATE-A's catchment, the on-time children do not: by
    # priority the late child would win a seat there, yet both on-time children keep theirs.
    for reference in on_time:
        mine = round_.result(family, reference)["result"]
        assert mine["placement"]["school_code"] == "TH-LATE-A", mine
        assert mine["late"] is False and mine["placement"]["pool"] == "general"
    late = round_.result(late_family, late_ref)
    assert late["late"] is True and late["late_reason"] == reason
    placed = late["result"]
    assert placed["late"] is True
    assert placed["placement"]["school_code"] == "TH-LATE-B", placed
    assert placed["placement"]["pool"] == "general"
    assert [row["outcome"] for row in placed["explanation"]] == ["rejected", "admitted"]
    report = verify_export(io.StringIO(round_.export()))
    assert report.ok, report


def test_twins_are_placed_together(system: System) -> None:
    department, family, others = (Actor(system, r) for r in (DEPARTMENT, PARENT, PARENT))
    round_ = Round(system, department, 2028, twins_together=True)
    assert round_.wait("open")["policy"]["twins_together"] is True
    ranked = ["TH-TWIN-A", "TH-TWIN-B"]
    twins = [round_.apply(family, form(n, 2022, ranked, family.phone)) for n in (11, 12)]
    rest = [round_.apply(others, form(n, 2022, ranked, others.phone)) for n in (13, 14, 15)]
    for reference in twins:
        round_.verified(family, reference)
    for reference in rest:
        round_.verified(others, reference)
    round_.close()
    round_.allocate_and_publish()

    results = [round_.result(family, reference)["result"] for reference in twins]
    schools = {r["placement"]["school_code"] for r in results}
    assert len(schools) == 1, results  # five children, two seats at A: the twins together
    at_a = [round_.result(others, ref)["result"]["placement"]["school_code"] for ref in rest]
    assert at_a.count("TH-TWIN-A") == (0 if schools == {"TH-TWIN-A"} else 2)
    report = verify_export(io.StringIO(round_.export()))
    assert report.ok, report


def test_the_department_sets_the_sibling_rules_on_the_portal(system: System) -> None:
    department = Actor(system, DEPARTMENT)
    login = {"phone": department.login["username"], "password": department.login["password"]}
    portal = portal_session(system.url, login, language="en")
    page = portal.get(f"{system.url}/department/rounds?year=2031", timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token and 'id="twins_together"' in page.text, page.text[-2000:]
    form = {"level": "grade_1", "year": "2031", "max_preferences": "3", "offer_days": "7"}
    form |= {"twins_together": "1", "shared_sibling_lottery": "1", "csrf_token": token.group(1)}
    as_a_browser(portal)
    created = portal.post(
        f"{system.url}/department/rounds", data=form, timeout=30, allow_redirects=False
    )
    assert created.status_code in (302, 303), created.text[-2000:]
    as_a_browser(portal)
    shown = portal.get(f"{system.url}{created.headers['Location']}", timeout=30)

    assert "one lottery number, placed together" in shown.text, shown.text[-3000:]
    stored = requests.get(
        system.api(f"{ROUNDS}/2031-grade_1"), headers=department.headers, timeout=30
    ).json()
    assert stored["policy"]["twins_together"] is True
    assert stored["policy"]["shared_sibling_lottery"] is True
    assert stored["policy"]["sibling_priority"] is False


def test_reserved_seats_are_used_or_returned(system: System) -> None:
    department, family = Actor(system, DEPARTMENT), Actor(system, PARENT)
    round_ = Round(system, department, 2029)
    seats = [
        {"school_code": "TH-RES-A", "category": "khuyet_tat", "seats": 1},
        {"school_code": "TH-RES-C", "category": "khuyet_tat", "seats": 1},
    ]
    too_many = department.call(
        "PUT",
        f"{ROUNDS}/{round_.id}/reserved-seats",
        {"seats": [{**seats[0], "seats": 3}]},
    )
    assert too_many.status_code == 400, too_many.text
    saved = department.call("PUT", f"{ROUNDS}/{round_.id}/reserved-seats", {"seats": seats})
    assert saved.status_code == 200, saved.text
    assert [(s["school_code"], s["seats"], s["used"]) for s in saved.json()["seats"]] == [
        ("TH-RES-A", 1, None),
        ("TH-RES-C", 1, None),
    ]
    ranked = ["TH-RES-A", "TH-RES-B"]
    references = {
        n: round_.apply(family, form(n, 2023, ranked, family.phone)) for n in (21, 22, 23, 24)
    }
    references |= {
        n: round_.apply(family, form(n, 2023, ["TH-RES-C"], family.phone)) for n in (25, 26)
    }
    for reference in references.values():
        round_.verified(family, reference)
    round_.close()
    round_.allocate_and_publish()

    results = {n: round_.result(family, ref)["result"] for n, ref in references.items()}
    # The child of the category holds TH-RES-A's reserved seat, whatever the lottery drew.
    assert results[21]["placement"]["school_code"] == "TH-RES-A"
    assert results[21]["placement"]["pool"] == "reserved"
    general_a = [n for n in (22, 23, 24) if results[n]["placement"]["school_code"] == "TH-RES-A"]
    assert len(general_a) == 1 and results[general_a[0]]["placement"]["pool"] == "general"
    # Nobody of the category asked for TH-RES-C: its reserved seat went to the general pool.
    for n in (25, 26):
        assert results[n]["placement"]["school_code"] == "TH-RES-C"
        assert results[n]["placement"]["pool"] == "general"
    used = department.call("GET", f"{ROUNDS}/{round_.id}/reserved-seats").json()["seats"]
    assert [(s["school_code"], s["used"]) for s in used] == [("TH-RES-A", 1), ("TH-RES-C", 0)]
    # The school sees the pool of each seat on its list.
    staff = Actor(system, STAFF, school="TH-RES-A")
    intake = staff.call("GET", "/api/v1/schools/TH-RES-A/intake").json()
    pools = {c["reference"]: c["pool"] for c in intake["allocated"]}
    assert pools[references[21]] == "reserved" and pools[references[general_a[0]]] == "general"
    fixed = department.call("PUT", f"{ROUNDS}/{round_.id}/reserved-seats", {"seats": seats})
    assert fixed.status_code == 409, fixed.text  # published: the seats are fixed
    report = verify_export(io.StringIO(round_.export()))
    assert report.ok, report


def test_the_department_and_the_family_in_the_portal(system: System, tmp_path: Path) -> None:
    """Reserved seats and a late application through the portal's forms (a closed round),
    and the late family's result, in Chromium; screenshots at 360 px and 1280 px."""
    assert SHARED, "runs after the late application test, whose family it signs in"
    department, family = Actor(system, DEPARTMENT), Actor(system, PARENT)
    round_ = Round(system, department, 2030)
    round_.close()
    round_.wait("closed")
    citizen_id, name, born, *_ = person(31, 2024, W1, "")
    late_form = {
        "child.citizen_id": citizen_id,
        "child.full_name": name,
        "child.date_of_birth": born,
        "preferences": "TH-RES-A, TH-RES-B",
        "guardian.full_name": "Trần Văn Cường",
        "guardian.phone": family.phone,
        "guardian.email": "cuong@example.com",
    }
    config = {
        "url": system.url,
        "round_id": round_.id,
        "department": {
            "who": department.login["username"],
            "password": department.login["password"],
        },
        "family": {"who": SHARED["family"]["phone"], "password": SHARED["family"]["password"]},
        "late_reference": SHARED["late_reference"],
        "late_form": late_form,
    }
    played = play("exceptions_browser", config, tmp_path / "exceptions.json", timeout=300)
    assert played.returncode == 0, f"{played.output}\n{system.logs()}"
    listed = department.call("GET", f"{ROUNDS}/{round_.id}/late-applications").json()
    assert len(listed) == 1 and listed[0]["accepted_by"] == department.id
    reserved = department.call("GET", f"{ROUNDS}/{round_.id}/reserved-seats").json()["seats"]
    assert [(s["school_code"], s["seats"]) for s in reserved] == [("TH-RES-A", 1), ("TH-RES-C", 2)]
