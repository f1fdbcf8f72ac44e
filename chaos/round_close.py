"""Scenario 12: the department closes a round while submissions flow and a backlog is queued.

Registration is killed before the close, so thousands of submissions wait in its queue at the
close instant; they must all be honoured once it is back (they were stamped in time). The
main gateway answers 409 from the close instant on, never 202. A second gateway replica that
did not hear of the close (it trusts its view of the rounds for ten minutes: a misconfigured
or cut-off replica) keeps answering 202: each of those must end stored as `refused`, with
the refusal on the application and its notice in the guardian's mailbox. Every 202 ends as
exactly one stored application: verified, rejected or refused; none missing.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections import Counter
from datetime import UTC, datetime

import requests

from bench.loadgen import LoadResult
from chaos.invariants import queue_depths, rows
from chaos.scenarios import (
    ROUND,
    Outcome,
    Submitter,
    _statuses,
    fresh_child,
    paced_load,
    settle,
    submitter,
)
from tests.support.accounts import DEPARTMENT
from tests.support.gateways import start_lagging_gateway
from tests.support.system import RunningSystem

NOTICE = 10  # seconds from the department's close to the close instant (the default)
ROUND_CLOSE_ENV = {
    "WINDOW_NOTICE_SECONDS": str(NOTICE),
    "CLOSE_CHECK_SECONDS": "0.5",
    "ROUND_CACHE_SECONDS": "1",
    "ROUND_VIEW_MAX_SECONDS": "5",
}
LAGGING = 50  # submissions sent through the replica that missed the close


def round_close(system: RunningSystem, submit: Submitter, bodies: list[bytes]) -> Outcome:
    """Scenario 12: close the round under load with registration down; count every 202."""
    department = system.headers_of(DEPARTMENT)
    grade_1 = [body for body in bodies if json.loads(body)["round_id"] == ROUND]
    lagging_url = start_lagging_gateway(system.processes, system.env)
    lagging = submitter(_at(system, lagging_url), system.parent_headers(), concurrency=8)
    lagging(grade_1[:1])  # its view of the round is now warm, and stays so
    stop, results = threading.Event(), []
    loader = threading.Thread(target=paced_load, args=(submit, grade_1, stop, results), daemon=True)
    loader.start()
    time.sleep(5)
    system.kill("registration")  # from here on the submissions queue up
    time.sleep(10)
    closing = requests.post(
        f"{system.url}/api/v1/rounds/{ROUND}/close", headers=department, timeout=30
    )
    closes_at = datetime.fromisoformat(closing.json()["closes_at"])
    time.sleep(max(0.0, (closes_at - datetime.now(UTC)).total_seconds()) + 5)
    stop.set()
    loader.join()
    queued = queue_depths(system.management, system.amqp_uri)["registration.submit_application"]
    late = lagging([fresh_child(body) for body in grade_1[1 : 1 + LAGGING]])
    system.start_service("registration")
    main = LoadResult(statuses=sum((r.statuses for r in results), Counter()))
    main.references = [ref for r in results for ref in r.references]
    answered = set(main.references) | set(late.references)
    verdict = settle(system, answered, timeout=900)
    stored = dict(
        rows(system.databases["registration"], "SELECT reference, status FROM applications")
    )
    statuses = Counter(stored.get(ref, "missing") for ref in answered)
    refused_main = sum(1 for ref in main.references if stored.get(ref) == "refused")
    stamped_late = rows(
        system.databases["registration"],
        "SELECT count(*) FROM applications WHERE status <> 'refused' AND round_id ="
        f" '{ROUND}' AND submitted_at >= '{closes_at.isoformat()}'",
    )[0][0]
    figures = (
        f"{sum(main.statuses.values()):,} submissions through the gateway while the round"
        f" closed ({_statuses(main)}); registration killed 10 s before the close and started"
        f" again after it, with {queued:,} submissions queued; close instant {NOTICE} s after"
        f" the department's close; {sum(late.statuses.values())} submissions after the close"
        f" instant through a replica that missed it ({_statuses(late)}). Of {len(answered):,}"
        f" answered 202: verified {statuses['verified']:,}, rejected {statuses['rejected']:,},"
        f" refused {statuses['refused']:,} (refused and notified:"
        f" {statuses['refused'] - verdict.refused_untold}), missing {statuses['missing']};"
        f" refused among the main gateway's 202s: {refused_main}; stored in time though"
        f" stamped at or after the close instant: {stamped_late}"
    )
    ok = (
        statuses["missing"] == 0
        and refused_main == 0
        and stamped_late == 0
        and queued > 0
        and statuses["refused"] == len(late.references) > 0
    )
    return Outcome("round_close", figures, verdict, ok=ok)


def _at(system: RunningSystem, url: str) -> RunningSystem:
    """The same system, reached through another gateway."""
    return dataclasses.replace(system, url=url)
