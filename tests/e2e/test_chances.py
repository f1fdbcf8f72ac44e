"""Chances of admission through the whole system: several families apply through the
gateway, the allocation service estimates the open round from many lottery draws of the
real engine, a family whose list is risky sees the warning and schools with room, and
another family sees nothing of theirs (404, on the API and the portal)."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, update
from sqlalchemy.orm import Session

from services.allocation.models import School
from tests.e2e.conftest import System
from tests.support.accounts import PARENT, bearer, credentials, make_account
from tests.support.browser_process import play
from tests.support.portal import as_a_browser, portal_session
from tests.support.processes import ROOT
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e

ROUND = "2027-grade_1"
DRAWS = 200
SYSTEM_ENV = {"ESTIMATE_SECONDS": "1", "ESTIMATE_DRAWS": str(DRAWS)}
CHROMIUM = Path("/usr/bin/chromium")
# The risky family of the first test, whose page the second one photographs.
RISKY: dict[str, Any] = {}


def pick(system: System) -> tuple[list[dict[str, str]], str, str]:
    """Four children born in 2021 in one ward served by two grade-1 schools X and Y."""
    schools = list(csv.DictReader(open(system.city / "schools.csv", encoding="utf-8")))
    serving: dict[str, list[str]] = defaultdict(list)
    for school in schools:
        if school["level"] == "grade_1":
            for ward in school["catchment"].split(";"):
                serving[ward].append(school["code"])
    children: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in csv.DictReader(open(system.city / "register.csv", encoding="utf-8")):
        plain = not row["priority_category"]  # no child of the ward outranks the others
        if (
            row["date_of_birth"].startswith("2021-")
            and plain
            and len(serving[row["ward_code"]]) >= 2
        ):
            children[row["ward_code"]].append(row)
    ward = next(w for w in sorted(children) if len(children[w]) >= 4)
    x, y = sorted(serving[ward])[:2]
    return children[ward][:4], x, y


def set_capacity(system: System, code: str, seats: int) -> None:
    """The department's figure for a school (as its import would set it)."""
    engine = create_engine(system.databases["allocation"])
    with Session(engine) as session, session.begin():
        session.execute(update(School).where(School.code == code).values(capacity=seats))
    engine.dispose()


def parent(system: System) -> tuple[dict[str, str], dict[str, str]]:
    """A new parent account: its Authorization header and its login body."""
    db = system.databases["gateway"]
    body = credentials(db, make_account(db, PARENT))
    answer = requests.post(system.api("/api/v1/auth/token"), json=body, timeout=10)
    assert answer.status_code == 200, answer.text
    return bearer(answer.json()["access_token"]), body


def apply(system: System, headers: dict[str, str], child: dict[str, str], prefs: list[str]) -> str:
    form = {
        "round_id": ROUND,
        "child": {k: child[k] for k in ("citizen_id", "full_name", "date_of_birth")},
        "preferences": prefs,
        "guardian": {
            "full_name": "Phụ huynh",
            "phone": "0912345678",
            "email": "family@example.com",
            "language": "vi",
        },
    }
    answer = requests.post(
        system.api("/api/v1/applications"), json=form, headers=headers, timeout=10
    )
    assert answer.status_code == 202, answer.text
    return str(answer.json()["reference"])


def estimate_of(system: System, headers: dict[str, str], reference: str) -> Any:
    url = system.api(f"/api/v1/applications/{reference}/estimate")
    return requests.get(url, headers=headers, timeout=10)


def test_a_risky_family_is_warned_and_another_family_sees_nothing_of_it(system: System) -> None:
    children, x, y = pick(system)
    set_capacity(system, x, 1)  # one seat at X for three children of the ward
    set_capacity(system, y, 20)
    families = [parent(system) for _ in children]
    references = [
        apply(system, headers, child, [x] if i < 3 else [y])
        for i, ((headers, _), child) in enumerate(zip(families, children, strict=True))
    ]
    for (headers, _), reference in zip(families, references, strict=True):
        wait_for(
            lambda h=headers, r=reference: (
                requests.get(system.api(f"/api/v1/applications/{r}"), headers=h, timeout=10)
                .json()
                .get("status")
                == "verified"
            ),
            timeout=30,
            what=f"verification\n{system.logs()}",
        )
    risky_headers, risky_login = families[0]
    RISKY.update(login={"who": risky_login["phone"], "password": risky_login["password"]})
    RISKY.update(reference=references[0], portal=risky_login, headers=risky_headers)
    RISKY.update(child=children[0])
    # A batch of all four (allocation may learn of a verdict a moment after registration
    # answers it): X then holds 1 seat for 3.
    figures = wait_for(
        lambda: (
            (body := estimate_of(system, risky_headers, references[0]).json()).get("applications")
            == len(references)
            and body
        ),
        timeout=60,
        what=f"the estimate with every family\n{system.logs()}",
    )
    assert figures["draws"] == DRAWS and figures["high_risk"]
    [first] = figures["choices"]
    assert first["school_code"] == x
    assert abs(first["chance"] - 1 / 3) <= figures["margin"]
    assert figures["outside_list"] == pytest.approx(1 - first["chance"], abs=1e-3)
    assert y in [s["school_code"] for s in figures["suggestions"]]

    calm_headers, calm_login = families[3]
    calm = estimate_of(system, calm_headers, references[3]).json()
    assert calm["some_choice"] == 1.0 and not calm["high_risk"] and calm["suggestions"] == []

    # Another family: the API answers 404, exactly as for an unknown reference.
    theirs = estimate_of(system, calm_headers, references[0])
    unknown = estimate_of(system, calm_headers, "TSUNKNOWN000000000")
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json() == unknown.json()

    # The portal: the risky family's page, in English and in Vietnamese.
    page = portal_session(system.url, risky_login, "en").get(
        f"{system.url}/parent/applications/{references[0]}", timeout=10
    )
    assert page.status_code == 200
    assert 'id="risk-warning"' in page.text and 'id="suggestions"' in page.text
    assert "With this list: 1st choice about" in page.text
    assert f"({y})" in page.text
    vi_page = portal_session(system.url, risky_login, "vi").get(
        f"{system.url}/parent/applications/{references[0]}", timeout=10
    )
    assert "Với danh sách này: nguyện vọng 1 khoảng" in vi_page.text
    assert "Nguy cơ không có chỗ" in vi_page.text
    # The other family's browser: a 404 page with nothing of the risky family's.
    other = portal_session(system.url, calm_login, "en")
    stranger = other.get(f"{system.url}/parent/applications/{references[0]}", timeout=10)
    as_a_browser(other)  # the answer renews the session cookie (Secure, as every time)
    assert stranger.status_code == 404
    # (The reference itself is in the page's language link: it is the address typed.)
    for secret in (children[0]["full_name"], 'id="estimate"', "risk-warning", "With this list"):
        assert secret not in stranger.text
    own = other.get(f"{system.url}/parent/applications/{references[3]}", timeout=10)
    main = own.text[own.text.find("<main") :]
    assert 'id="estimate"' in own.text and "risk-warning" not in own.text, main[:3000]

    # Public demand: aggregate only, and nothing below k = 10 applicants.
    demand = requests.get(system.api("/api/v1/demand"), params={"round_id": ROUND}, timeout=10)
    assert demand.status_code == 200, demand.text
    rows = {row["school_code"]: row for row in demand.json()["schools"]}
    assert rows[x]["capacity"] == 1 and rows[x]["applications"] is None
    assert set(rows[x]["by_tier"].values()) <= {None, 0}
    assert "reference" not in demand.text and references[0] not in demand.text


def test_the_finder_of_an_application_measures_from_the_registered_address(
    system: System,
) -> None:
    """The demo register has a map point for every address: the family's finder measures
    from it (and says so); the public finder of the same ward from the ward's centre."""
    assert RISKY.get("reference"), "the first test of this module applies"
    reference, child = RISKY["reference"], RISKY["child"]
    url = system.api(f"/api/v1/applications/{reference}/finder")
    mine = requests.get(url, headers=RISKY["headers"], timeout=10)
    assert mine.status_code == 200, mine.text
    found = mine.json()
    assert found["point_source"] == "address" and found["ward"]["code"] == child["ward_code"]
    # The register's point, no finer than about 100 m; never the address itself.
    assert found["point"] == {
        "lat": round(float(child["lat"]), 3),
        "lon": round(float(child["lon"]), 3),
    }
    public = requests.get(
        system.api("/api/v1/finder"),
        params={"ward": child["ward_code"], "level": "grade_1"},
        timeout=10,
    ).json()
    assert public["point_source"] == "ward" and public["point"] != found["point"]
    assert sorted(s["code"] for s in public["schools"]) == sorted(
        s["code"] for s in found["schools"]
    )

    en = portal_session(system.url, RISKY["portal"], "en")
    application = en.get(f"{system.url}/parent/applications/{reference}", timeout=10).text
    assert f'href="/finder?application={reference}"' in application
    as_a_browser(en)  # the answer renews the session cookie (Secure, as every time)
    page = en.get(f"{system.url}/finder?application={reference}", timeout=10)
    assert page.status_code == 200
    assert "from your child's registered address" in page.text.replace("&#39;", "'")
    assert "Map: your home (square)" in page.text
    as_a_browser(en)
    vi = portal_session(system.url, RISKY["portal"], "vi")
    vi_page = vi.get(f"{system.url}/finder?application={reference}", timeout=10).text
    assert "từ địa chỉ đăng ký thường trú của con" in vi_page
    ward_page = en.get(
        f"{system.url}/finder?ward={child['ward_code']}&level=grade_1", timeout=10
    ).text
    assert "from the centre of the schools located in your ward" in ward_page


def test_screenshots_of_demand_chances_and_the_finder(system: System, tmp_path: Path) -> None:
    """The demo city's grade-1 families apply too (so the live demand has figures above k),
    then Chromium photographs the three views at 360 px and 1280 px into docs/screenshots."""
    if not CHROMIUM.exists():  # fail, never skip: .ci/run installs it
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    headers, _ = parent(system)
    count = 0
    for line in open(system.city / "applications.jsonl", encoding="utf-8"):
        form = json.loads(line)
        if form["round_id"] != ROUND:
            continue
        answer = requests.post(
            system.api("/api/v1/applications"), json=form, headers=headers, timeout=30
        )
        assert answer.status_code in (202, 409), answer.text  # 409: a child applied above
        count += answer.status_code == 202

    def busiest() -> dict[str, Any] | None:
        answer = requests.get(system.api("/api/v1/demand"), params={"round_id": ROUND}, timeout=10)
        if answer.status_code != 200 or answer.json()["applications"] < count:
            return None
        rows = [r for r in answer.json()["schools"] if r["applications"] is not None]
        return max(rows, key=lambda r: r["applications"], default=None)

    top = wait_for(busiest, timeout=180, interval=2, what=f"demand above k\n{system.logs()}")
    schools = {
        r["code"]: r for r in csv.DictReader(open(system.city / "schools.csv", encoding="utf-8"))
    }
    ward = schools[top["school_code"]]["catchment"].split(";")[0]
    risky = RISKY.get("login")
    assert risky, "the first test of this module signs the risky family up"
    config = {"url": system.url, "ward": ward, "login": risky, "reference": RISKY["reference"]}
    played = play("chances_browser", config, tmp_path / "chances.json", timeout=600)
    assert played.returncode == 0 and "[chances] screenshots taken" in played.stdout, played.output
    for name in ("demand", "finder", "estimate"):
        for width in ("phone", "desktop"):
            assert (ROOT / "docs" / "screenshots" / f"chances-{name}-{width}.png").stat().st_size


def test_outcomes_are_public_only_once_a_round_is_published(system: System) -> None:
    listed = requests.get(system.api("/api/v1/outcomes"), timeout=10)
    assert listed.status_code == 200 and listed.json() == []
    for path in (f"/api/v1/outcomes/{ROUND}", f"/api/v1/outcomes/{ROUND}.csv"):
        answer = requests.get(system.api(path), timeout=10)
        assert answer.status_code == 404, (path, answer.text)
        assert answer.json()["error"]["code"] == "not_found"
