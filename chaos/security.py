"""Security scenarios that reuse the suites written for them: the access matrix (pytest, on
its own real processes) and schemathesis (its CLI, against a live gateway)."""

from __future__ import annotations

import os
import re
import subprocess
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from tempfile import TemporaryDirectory

from bench.system import RunningSystem
from chaos.scenarios import Outcome, Submitter
from tests.support.accounts import DEPARTMENT, PARENT, STAFF
from tests.support.processes import BIN, ROOT

EXAMPLES = 200


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
    per operation, against the live /openapi.json."""
    assert system is not None
    results = []
    ok = True
    for role in (PARENT, STAFF, DEPARTMENT):
        headers = system.headers_of(role, school="TH-0001" if role == STAFF else None)
        with TemporaryDirectory() as scratch:
            report = Path(scratch) / "junit.xml"
            args = [
                str(BIN / "schemathesis"),
                "run",
                f"{system.url}/openapi.json",
                "--checks",
                "all",
                "--max-examples",
                str(EXAMPLES),
                "--header",
                f"Authorization:{headers['Authorization']}",
                "--report",
                "junit",
                "--report-junit-path",
                str(report),
                "--no-color",
            ]
            env = {
                **os.environ,
                "SCHEMATHESIS_HOOKS": "chaos.schemathesis_hooks",
                "CHAOS_GATEWAY_DB": system.databases["gateway"],
                "CHAOS_GATEWAY_URL": system.url,
                "CHAOS_ROLE": role,
                "CHAOS_SCHOOL": "TH-0001" if role == STAFF else "",
            }
            done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env=env)
            log = system.workdir / f"schemathesis-{role}.log"
            log.write_text(done.stdout + done.stderr)
            server_errors = len(re.findall(r"Server error", done.stdout))
            summary = [
                line for line in done.stdout.splitlines() if "passed" in line or "failed" in line
            ]
            tests, failed, _skipped = _junit(report) if report.exists() else (0, -1, 0)
        results.append(
            f"{role}: {tests} operations, {failed} with a failing check, {server_errors} server"
            f" errors ({summary[-1].strip() if summary else 'no summary'})"
        )
        ok = ok and server_errors == 0
    return Outcome("schemathesis", "; ".join(results), ok=ok)
