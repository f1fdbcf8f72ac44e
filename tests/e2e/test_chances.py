"""Chances of admission through the whole system: several families apply through the
gateway, the allocation service estimates the open round from many lottery draws of the
real engine, a family whose list is risky sees the warning and schools with room, and
another family sees nothing of theirs (404, on the API and the portal)."""

from __future__ import annotations

import csv
from collections import defaultdict
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, update
from sqlalchemy.orm import Session

from services.allocation.models import School
from tests.e2e.conftest import System
from tests.support.accounts import PARENT, bearer, credentials, make_account
from tests.support.portal import portal_session
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e

ROUND = "2027-grade_1"
DRAWS = 200
SYSTEM_ENV = {"ESTIMATE_SECONDS": "1", "ESTIMATE_DRAWS": str(DRAWS)}


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
                requests.get(system.api(f"/api/v1/applications/{r}"), headers=h, timeout=10).json()[
                    "status"
                ]
                == "verified"
            ),
            timeout=30,
            what=f"verification\n{system.logs()}",
        )
    risky_headers, risky_login = families[0]
    # The batch counts all four once each has been verified: X then holds 1 seat for 3.
    figures = wait_for(
        lambda: (
            (body := estimate_of(system, risky_headers, references[0]).json()).get("high_risk")
            and body
        ),
        timeout=60,
        what=f"the estimate with every family\n{system.logs()}",
    )
    assert figures["draws"] == DRAWS
    [first] = figures["choices"]
    assert first["school_code"] == x
    assert abs(first["chance"] - 1 / 3) <= figures["margin"]
    assert figures["outside_list"] == pytest.approx(1 - first["chance"], abs=1e-3)
    assert y in [s["school_code"] for s in figures["suggestions"]]

    calm_headers, calm_login = families[3]
    # Allocation may learn of the last verdict a batch later than registration.
    calm = wait_for(
        lambda: (
            (body := estimate_of(system, calm_headers, references[3]).json())["available"] and body
        ),
        timeout=60,
        what=f"the calm family's estimate\n{system.logs()}",
    )
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
