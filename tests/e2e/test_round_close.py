"""Every "received" is honoured at the round's edges, through the gateway, on the real broker
and databases: submissions flowing while the department closes a round with a backlog
queued (registration stopped), a stale view of the round on either side of the window, and
a 202 that a lagging gateway gave after the close, which ends stored, shown and notified.

The system runs with a real window notice (WINDOW_NOTICE_SECONDS) and gateways that reload
the rounds' windows often, as in production; an SMS provider fake (real HTTP) records texts.
"""

from __future__ import annotations

import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import System
from tests.support.accounts import DEPARTMENT, PARENT, bearer, credentials, make_account
from tests.support.api import get, log_in, post, post_to, sample_forms, school, until
from tests.support.broker import queue_depth
from tests.support.gateways import start_lagging_gateway
from tests.support.portal import as_a_browser, portal_session
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e

SYSTEM_OPTIONS = {"sms": True}  # the SMS provider fake (real HTTP) records every text

NOTICE = 8.0  # seconds between the department's open or close and its instant
SYSTEM_ENV = {
    "WINDOW_NOTICE_SECONDS": str(NOTICE),
    "CLOSE_CHECK_SECONDS": "0.2",
    "ROUND_CACHE_SECONDS": "0.5",
    "ROUND_VIEW_MAX_SECONDS": "2",
}
FINAL = {"verified", "rejected", "refused"}
SUBMISSIONS = "registration.submit_application"


@pytest.fixture
def registration_back(system: System) -> Any:
    """Whatever happens in the test, registration runs again afterwards (the next tests need
    it): a test that stops it and fails before starting it again must not take them along."""
    yield
    restart_registration(system)


def restart_registration(system: System) -> None:
    if "registration" not in system.processes.running:
        system.processes.nameko("registration", system.env)


def test_every_202_while_the_round_closes_with_a_backlog_ends_stored_and_final(
    sms: Any, system: System, registration_back: Any
) -> None:
    round_id = "2027-grade_1"
    department = log_in(system, DEPARTMENT)
    forms = [f for f in sample_forms(system) if f["round_id"] == round_id]
    parents = [log_in(system, PARENT) for _ in range(5)]
    answers: list[dict[str, Any]] = []
    stop = threading.Event()

    def flow(worker: int) -> None:
        # Submissions keep coming until told to stop: the sample forms, then the same forms
        # for new children (not in the register: rejected, a final status like any other).
        for index in itertools.count(worker, 4):
            if stop.is_set():
                return
            form = forms[index % len(forms)]
            if index >= len(forms):
                child = {**form["child"], "citizen_id": f"0019{index:08d}"}
                form = {**form, "child": child}
            parent = parents[index % len(parents)]
            sent = time.monotonic()
            answer = post(system, "/api/v1/applications", parent, form)
            answers.append({"parent": parent, "sent": sent, "answer": answer})
            time.sleep(0.1)

    with ThreadPoolExecutor(max_workers=4) as pool:
        flows = [pool.submit(flow, worker) for worker in range(4)]
        wait_for(lambda: len(answers) >= 20, timeout=120, what="submissions flowing")
        system.processes.stop("registration")  # the backlog builds from here on
        stopped = time.monotonic()
        wait_for(lambda: sum(a["sent"] > stopped for a in answers) >= 20, timeout=120)
        closing = post(system, f"/api/v1/rounds/{round_id}/close", department)
        assert closing.status_code == 200, closing.text
        closes_at = datetime.fromisoformat(closing.json()["closes_at"])
        sleep_until(closes_at)
        backlog_at_close = queue_depth(system.env["AMQP_URI"], SUBMISSIONS)
        wait_for(lambda: sum(a["answer"].status_code == 409 for a in answers) >= 10, timeout=120)
        stop.set()
        for running in flows:
            running.result()
    accepted = [a for a in answers if a["answer"].status_code == 202]
    refused_at_door = [a for a in answers if a["answer"].status_code == 409]
    other = [a["answer"].status_code for a in answers if a not in accepted + refused_at_door]
    assert accepted and refused_at_door, f"202s {len(accepted)}, 409s {len(refused_at_door)}"
    assert {a["answer"].json()["error"]["code"] for a in refused_at_door} == {"round_not_open"}
    assert other == [] or set(other) <= {400}, other  # a sample form may name a bad school
    assert backlog_at_close > 0, "registration was stopped: submissions must queue"
    assert any(a["sent"] > stopped for a in accepted)

    # Allocation refuses while registration has a backlog; the round closed at its instant.
    until(system, lambda: round_of(system, department, round_id)["status"] == "closed", "close")
    allocate = post(system, f"/api/v1/rounds/{round_id}/allocate", department)
    assert (allocate.status_code, allocate.json()["error"]["code"]) == (
        409,
        "intake_not_complete",
    )

    restart_registration(system)
    final = {}
    for item in accepted:
        reference = item["answer"].json()["reference"]
        final[reference] = until(
            system, lambda p=item["parent"], r=reference: settled(system, p, r), f"{reference}"
        )
    statuses = [view["status"] for view in final.values()]
    missing = [
        ref
        for ref, item in zip(final, accepted, strict=True)
        if get(system, f"/api/v1/applications/{ref}", item["parent"]).status_code == 404
    ]
    print(  # noqa: T201 - the figures, for `pytest -s` and RELIABILITY.md
        f"[close race] submitted {len(answers)}: 202 {len(accepted)}, 409"
        f" {len(refused_at_door)}, other {len(other)}; queued at the close {backlog_at_close};"
        f" stored {len(final)}: verified {statuses.count('verified')}, rejected"
        f" {statuses.count('rejected')}, refused {statuses.count('refused')};"
        f" missing {len(missing)}"
    )
    assert missing == []
    assert len(final) == len({a["answer"].json()["reference"] for a in accepted})
    # The gateway never answered 202 for a submission stamped at or after the close instant,
    # so registration honoured every one of them, however long it had waited.
    assert statuses.count("refused") == 0
    assert all(datetime.fromisoformat(v["submitted_at"]) < closes_at for v in final.values())


def test_a_round_is_open_from_its_instant_and_a_warm_view_honours_what_it_accepted(
    sms: Any, system: System
) -> None:
    department = log_in(system, DEPARTMENT)
    parent = log_in(system, PARENT)
    form = sample_forms(system)[0]
    round_id = "2028-kindergarten"
    form = {**form, "round_id": round_id, "preferences": [school(system, "kindergarten")]}
    created = post(system, "/api/v1/rounds", department, {"level": "kindergarten", "year": 2028})
    assert created.status_code == 201, created.text

    opened = post(system, f"/api/v1/rounds/{round_id}/open", department)
    opens_at = datetime.fromisoformat(opened.json()["opens_at"])
    early = post(system, "/api/v1/applications", parent, form)
    assert early.status_code == 409  # before the instant: not open yet, nothing saved
    sleep_until(opens_at)
    right_after = post(system, "/api/v1/applications", parent, form)
    assert right_after.status_code == 202, right_after.text  # the mirror case: at once

    # The view is warm (the round is open in it); the department closes the round now. The
    # next submission, before the close instant, is accepted and honoured.
    closing = post(system, f"/api/v1/rounds/{round_id}/close", department)
    closes_at = datetime.fromisoformat(closing.json()["closes_at"])
    other_child = {**form, "child": {**form["child"], "citizen_id": "001323000001"}}
    before_instant = post(system, "/api/v1/applications", parent, other_child)
    assert before_instant.status_code == 202, before_instant.text
    sleep_until(closes_at)
    late_child = {**form, "child": {**form["child"], "citizen_id": "001323000002"}}
    late = post(system, "/api/v1/applications", parent, late_child)
    assert (late.status_code, late.json()["error"]["code"]) == (409, "round_not_open")
    for answer in (right_after, before_instant):
        view = until(system, lambda a=answer: settled(system, parent, a.json()["reference"]), "")
        assert view["status"] in ("verified", "rejected"), view  # honoured, never refused


def test_a_202_refused_later_is_stored_shown_and_notified_in_both_languages(
    sms: Any, system: System
) -> None:
    """A gateway that did not hear of the close (here: one told to trust its view for ten
    minutes) answers 202 after the close instant; the family still sees and hears why."""
    round_id = "2027-grade_6"
    lagging = start_lagging_gateway(system.processes, system.env)
    department = log_in(system, DEPARTMENT)
    db = system.databases["gateway"]
    account = make_account(db, PARENT)
    login = credentials(db, account)
    parent = bearer(post_to(lagging, "/api/v1/auth/token", None, login).json()["access_token"])
    first, second = [f for f in sample_forms(system) if f["round_id"] == round_id][:2]
    first["guardian"]["language"], second["guardian"]["language"] = "en", "vi"
    kept = post_to(lagging, "/api/v1/applications", parent, first)  # warms the lagging view
    assert kept.status_code == 202, kept.text
    until(system, lambda: settled(system, parent, kept.json()["reference"]), "the first one")

    post(system, f"/api/v1/rounds/{round_id}/close", department)
    until(system, lambda: round_of(system, department, round_id)["status"] == "closed", "close")
    late = post_to(lagging, "/api/v1/applications", parent, second)
    assert late.status_code == 202, "the lagging gateway still believes the round is open"
    changed = {**first, "preferences": list(reversed(first["preferences"]))}
    amended = post_to(lagging, "/api/v1/applications", parent, changed)
    assert amended.status_code == 202

    reference = late.json()["reference"]
    view = until(system, lambda: refused(system, parent, reference), "the refusal")
    assert view["status"] == "refused"
    assert (view["refusal"]["what"], view["refusal"]["code"]) == ("submission", "round_closed")
    assert "sau thời điểm kết thúc" in view["refusal"]["message_vi"]
    assert "after the admissions round had closed" in view["refusal"]["message_en"]
    kept_view = until(system, lambda: refused(system, parent, kept.json()["reference"]), "")
    assert kept_view["status"] in ("verified", "rejected")  # the application stays as it was
    assert kept_view["refusal"]["what"] == "amendment"
    assert kept_view["preferences"] == first["preferences"]

    inbox = until(system, lambda: notices(system, parent, reference), "the refusal notice")
    assert "application_refused" in [n["template"] for n in inbox]
    subjects = until(system, lambda: subjects_about(system.maildir, reference), "the e-mail")
    assert any("không được chấp nhận" in s for s in subjects), subjects  # second is in vi
    texts = until(system, lambda: [m for m in sms()["messages"] if reference in m["text"]], "")
    assert "không được chấp nhận" in texts[0]["text"]

    portal = portal_session(system.url, login)
    for language, words in (
        ("vi", "sau thời điểm kết thúc đợt tuyển sinh"),
        ("en", "after the admissions round had closed"),
    ):
        page = portal.get(f"{system.url}/parent/applications/{reference}?lang={language}")
        as_a_browser(portal)
        assert page.status_code == 200
        assert words in page.text, page.text[-3000:]


# --- helpers ----------------------------------------------------------------------------------


def settled(system: System, parent: dict[str, str], reference: str) -> dict[str, Any] | None:
    """The application once it has a final status (stored and checked, or refused)."""
    answer = get(system, f"/api/v1/applications/{reference}", parent)
    if answer.status_code == 200 and answer.json()["status"] in FINAL:
        return dict(answer.json())
    return None


def refused(system: System, parent: dict[str, str], reference: str) -> dict[str, Any] | None:
    view = settled(system, parent, reference)
    return view if view and view.get("refusal") else None


def notices(system: System, parent: dict[str, str], reference: str) -> list[dict[str, Any]]:
    answer = get(system, f"/api/v1/inbox?reference={reference}", parent)
    found = answer.json()["messages"] if answer.status_code == 200 else []
    return [n for n in found if n["template"] == "application_refused"]


def round_of(system: System, department: dict[str, str], round_id: str) -> dict[str, Any]:
    return dict(get(system, f"/api/v1/rounds/{round_id}", department).json())


def sleep_until(instant: datetime) -> None:
    time.sleep(max(0.0, (instant - datetime.now(instant.tzinfo)).total_seconds()) + 0.05)


def subjects_about(maildir: Path, reference: str) -> list[str]:
    found = []
    for path in maildir.rglob("*.eml"):
        message = message_from_bytes(path.read_bytes())
        subject = str(make_header(decode_header(message["Subject"] or "")))
        if reference in subject:
            found.append(subject)
    return found
