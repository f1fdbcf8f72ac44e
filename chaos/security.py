"""Security scenarios that reuse the suites written for them: the access matrix (pytest, on
its own real processes) and schemathesis (its CLI, against a live gateway)."""

from __future__ import annotations

import os
import re
import subprocess
import xml.etree.ElementTree as ElementTree
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from tempfile import TemporaryDirectory

from bench.system import RunningSystem
from chaos.scenarios import Outcome, Submitter
from tests.support.accounts import DEPARTMENT, PARENT, STAFF
from tests.support.processes import BIN, ROOT

EXAMPLES = 200
# Stateful testing (chains of calls through the spec's links) is left out: the spec has no
# links, and it would double the run.
PHASES = "examples,coverage,fuzzing"
ENDS_LOGIN = r"^/api/v1/auth/(logout|me/erasure)$"


def _junit(path: Path) -> tuple[int, int, int]:
    """Tests, failures (and errors), skipped, from a JUnit XML report."""
    root = ElementTree.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    tests = sum(int(suite.get("tests", 0)) for suite in suites)
    failed = sum(int(suite.get("failures", 0)) + int(suite.get("errors", 0)) for suite in suites)
    skipped = sum(int(suite.get("skipped", 0)) for suite in suites)
    return tests, failed, skipped


def access_matrix(
    _system: RunningSystem | None, _submit: Submitter | None, _: list[bytes]
) -> Outcome:
    """Scenario 7: tests/e2e/test_access.py (every route × every role × another owner's
    object, on gunicorn and the three services) as it stands, its figures counted."""
    with TemporaryDirectory() as scratch:
        report = Path(scratch) / "access.xml"
        args = [str(BIN / "pytest"), "tests/e2e/test_access.py", "-q", "-p", "no:cacheprovider"]
        done = subprocess.run(
            [*args, f"--junitxml={report}"], cwd=ROOT, capture_output=True, text=True
        )
        tail = done.stdout.strip().splitlines()[-1:] if done.stdout else []
        if not report.exists():
            return Outcome("access_matrix", f"the suite did not run: {tail}", ok=False)
        tests, failed, skipped = _junit(report)
    checks = re.findall(r"(\d+) (?:route|request|check)s? (?:denied|checked)", done.stdout)
    figures = (
        f"`pytest tests/e2e/test_access.py`: {tests} tests, {failed} failed, {skipped} skipped"
        f" ({tail[0] if tail else ''}){'; ' + ', '.join(checks) if checks else ''}"
    )
    return Outcome("access_matrix", figures, ok=failed == 0 and tests > 0 and skipped == 0)


def schemathesis(
    system: RunningSystem | None, _submit: Submitter | None, _: list[bytes]
) -> Outcome:
    """Scenario 8: `schemathesis run --checks all`, one run per role, at least 200 examples
    per operation, against the live /openapi.json. Logging out and erasing one's account
    end the login that asks, so they run apart, each call with a login of its own
    (chaos/schemathesis_hooks.py), and the rest of a role's run keeps its token."""
    assert system is not None
    runs = []
    for role in (PARENT, STAFF, DEPARTMENT):
        school = "TH-0001" if role == STAFF else None
        authorization = system.headers_of(role, school=school)["Authorization"]
        runs += [(role, school, authorization, False), (role, school, None, True)]
    # The runs wait on the gateway more than they compute: side by side, they take about
    # the time of the longest one.
    with ThreadPoolExecutor(max_workers=len(runs)) as pool:
        answers = list(pool.map(lambda run: _schemathesis_run(system, *run), runs))
    results, ok = [], True
    for (role, _, _, only_ending), (tests, failed, server_errors, summary) in zip(
        runs, answers, strict=True
    ):
        part = " (logout, account erasure)" if only_ending else ""
        results.append(
            f"{role}{part}: {tests} operations, {failed} with a failing check,"
            f" {server_errors} server errors ({summary})"
        )
        ok = ok and server_errors == 0 and tests > 0
    return Outcome("schemathesis", "; ".join(results), ok=ok)


def _schemathesis_run(
    system: RunningSystem,
    role: str,
    school: str | None,
    authorization: str | None,
    only_ending: bool,
) -> tuple[int, int, int, str]:
    """One CLI run; tests, failing, server errors and its summary line."""
    with TemporaryDirectory() as scratch:
        report = Path(scratch) / "junit.xml"
        select = "--include-path-regex" if only_ending else "--exclude-path-regex"
        args = [
            str(BIN / "schemathesis"),
            "run",
            f"{system.url}/openapi.json",
            "--checks",
            "all",
            "--max-examples",
            str(EXAMPLES),
            "--phases",
            PHASES,
            select,
            ENDS_LOGIN,
            "--report",
            "junit",
            "--report-junit-path",
            str(report),
            "--no-color",
        ]
        if authorization is not None:
            args += ["--header", f"Authorization: {authorization}"]
        env = {
            **os.environ,
            "SCHEMATHESIS_HOOKS": "chaos.schemathesis_hooks",
            "CHAOS_GATEWAY_DB": system.databases["gateway"],
            "CHAOS_GATEWAY_URL": system.url,
            "CHAOS_ROLE": role,
            "CHAOS_SCHOOL": school or "",
        }
        done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env=env)
        suffix = "-ending" if only_ending else ""
        log = system.workdir / f"schemathesis-{role}{suffix}.log"
        log.write_text(done.stdout + done.stderr)
        server_errors = len(re.findall(r"Server error", done.stdout))
        summary = [
            line for line in done.stdout.splitlines() if "passed" in line or "failed" in line
        ]
        tests, failed, _skipped = _junit(report) if report.exists() else (0, -1, 0)
    return tests, failed, server_errors, summary[-1].strip() if summary else "no summary"
