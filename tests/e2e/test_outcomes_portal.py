"""Past rounds' outcomes per school on the portal: a page for everyone, in vi and en, with
the open data's CSV and JSON beside it. Whole system; last year's round is allocated and
published by the allocation service's own code on its database (as its history would be),
then read through the gateway like any page."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from services.allocation import rounds
from services.allocation.domain import RoundOptions
from services.allocation.models import School, VerifiedApplication
from services.allocation.preview import run_allocation
from services.allocation.publish import publish_round
from shared.db.engine import build_engine
from shared.db.tables import outbox
from tests.e2e.conftest import System
from tests.support.browser_process import play
from tests.support.processes import ROOT

pytestmark = pytest.mark.e2e

PAST = "2026-grade_1"
CHROMIUM = Path("/usr/bin/chromium")


def publish_last_year(system: System) -> str:
    """Last year's grade-1 round: 15 residents and 12 outsiders want school X (10 seats that
    year), 3 residents another; allocated and published. The school's code."""
    engine = build_engine(system.databases["allocation"])
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        query = select(School).where(School.level == "grade_1").order_by(School.code)
        school = session.scalars(query).first()
        assert school is not None
        code, ward, seats = school.code, school.catchment[0], school.capacity
        session.execute(update(School).where(School.code == code).values(capacity=10))
        rounds.create_round(session, RoundOptions("grade_1", 2026))
        rounds.open_round(session, PAST)
        people = [(f"TSPASTIN{i:06d}", ward) for i in range(15)]
        people += [(f"TSPASTOUT{i:05d}", "99999") for i in range(12)]
        for i, (reference, home) in enumerate(people):
            session.add(
                VerifiedApplication(
                    reference=reference,
                    round_id=PAST,
                    citizen_id=f"0019{i:08d}",
                    ward_code=home,
                    household_id=f"PAST{i}",
                    preferences=[code],
                    state="verified",
                    as_of=now,
                )
            )
        rounds.close_round(session, PAST)
    with Session(engine) as session, session.begin():
        run_allocation(session, rounds.get_round(session, PAST, lock=True), now)
    with Session(engine) as session, session.begin():
        publish_round(session, rounds.get_round(session, PAST, lock=True), now)
        # History, not news: last year's families heard of their results last year.
        session.execute(delete(outbox))
        session.execute(update(School).where(School.code == code).values(capacity=seats))
    engine.dispose()
    return code


def page(system: System, path: str, language: str) -> requests.Response:
    answer = requests.get(f"{system.url}{path}", cookies={"lang": language}, timeout=30)
    assert answer.status_code == 200, answer.text[:2000]
    return answer


def test_past_outcomes_page_in_both_languages_with_open_data(system: System) -> None:
    before = page(system, "/outcomes", "en")
    assert "No round has been published yet" in before.text
    code = publish_last_year(system)

    en = page(system, "/outcomes", "en").text  # the newest published round by default
    assert "Past rounds&#39; results per school" in en or "Past rounds' results" in en
    card = en[en.index(f'data-school="{code}"') :]
    card = card[: card.index("</li>")]
    assert "<dt>Seats</dt><dd>10</dd>" in card
    assert "<dd>27 (first choice: 27)</dd>" in card
    # Ten residents took X's seats (the outsiders none): the last offer went to tier 2.
    assert "in the catchment: 10" in card and "outside: 0" in card
    assert "Tier 2: lives in the catchment" in card and "lottery number in the best" in card
    assert f'href="/api/v1/outcomes/{PAST}.csv"' in en
    assert f'href="/api/v1/outcomes/{PAST}"' in en

    vi = page(system, f"/outcomes?round={PAST}", "vi").text
    assert "Kết quả các đợt trước theo từng trường" in vi and "Suất cuối" in vi
    assert f'data-school="{code}"' in vi and "Dữ liệu mở" in vi

    searched = page(system, f"/outcomes?round={PAST}&q={code}", "en").text
    assert searched.count('data-school="') == 1 and f'data-school="{code}"' in searched
    unknown = page(system, "/outcomes?round=2019-grade_1", "en").text
    assert "No published round has that name." in unknown

    # The links are the open data itself.
    listed = requests.get(system.api(f"/api/v1/outcomes/{PAST}"), timeout=30).json()
    row = next(r for r in listed if r["school_code"] == code)
    assert (row["seats"], row["applications"], row["offers_catchment"]) == (10, 27, 10)
    sheet = requests.get(system.api(f"/api/v1/outcomes/{PAST}.csv"), timeout=30)
    assert sheet.status_code == 200 and sheet.headers["Content-Type"].startswith("text/csv")
    assert f"\n{PAST},{code}," in sheet.text
    # Linked from the home page, the lookup and the finder.
    for path in ("/", "/lookup", "/finder"):
        assert 'href="/outcomes"' in page(system, path, "en").text, path


def test_screenshots_of_past_outcomes(system: System, tmp_path: Path) -> None:
    """Chromium photographs the page at 360 px and 1280 px into docs/screenshots."""
    if not CHROMIUM.exists():  # fail, never skip: .ci/run installs it
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    listed = requests.get(system.api("/api/v1/outcomes"), timeout=30).json()
    assert [r["round_id"] for r in listed] == [PAST], "the first test publishes last year"
    # A search for the codes that share all but the last character with the school of the
    # first test (sorted first): a handful of cards, not the whole city's list.
    first = requests.get(system.api(f"/api/v1/outcomes/{PAST}"), timeout=30).json()[0]
    config = {"url": system.url, "round": PAST, "q": first["school_code"][:-1]}
    played = play("outcomes_browser", config, tmp_path / "outcomes.json", timeout=600)
    assert played.returncode == 0 and "[outcomes] screenshots taken" in played.stdout, played.output
    for width in ("phone", "desktop"):
        assert (ROOT / "docs" / "screenshots" / f"outcomes-{width}.png").stat().st_size
