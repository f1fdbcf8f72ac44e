"""Security scenarios that reuse the suites written for them: the access matrix (pytest, on
its own real processes) and schemathesis (its CLI, against a live gateway)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import xml.etree.ElementTree as ElementTree
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory
from urllib.parse import urlsplit

from chaos.scenarios import Outcome, Submitter
from gateway.app import create_app
from gateway.auth.decorators import access_of
from gateway.auth.roles import ROLES, STAFF
from tests.support.accounts import gateway_config
from tests.support.processes import BIN, ROOT
from tests.support.system import RunningSystem

EXAMPLES = 200
# Stateful testing (chains of calls through the spec's links) is left out: the spec has no
# links, and it would double the run.
PHASES = "examples,coverage,fuzzing"
ENDS_LOGIN = ("POST /api/v1/auth/logout", "POST /api/v1/auth/me/erasure")
# Instead of a run's one token: a fresh login per call (chaos/schemathesis_hooks.py).
PER_CALL_LOGIN = "per call"
PUBLIC = "public"
# The gateway's rate limits answer 429 before a view runs: with them, most of 200 examples
# an operation would test the limiter, not the view. Scenario 9 tests the limits; here
# they are out of the way.
UNLIMITED = "1000000/minute"
SCHEMATHESIS_ENV = {
    f"RATE_LIMIT_{name}": UNLIMITED
    for name in ("LOGIN_IP", "LOGIN_ACCOUNT", "CODE_PHONE", "SIGNUP_IP", "SUBMIT")
    + ("ACCOUNT", "COSTLY", "LOOKUP", "LOOKUP_IP", "IP_CEILING")
}


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


def operations_by_role() -> dict[str, list[str]]:
    """Each role's operations ("METHOD /path", as schemathesis names them), and the public
    ones, from the gateway's own access records (`@public`, `@require`)."""
    app = create_app(gateway_config("memory://", "sqlite://", RATELIMIT_STORAGE_URI="memory://"))
    found: dict[str, list[str]] = {PUBLIC: [], **{role: [] for role in ROLES}}
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            access = access_of(app, rule.endpoint, method)
            if access is None:
                continue  # the spec, the docs page, static files: not operations of the API
            for role in access.roles or {PUBLIC}:
                found[role].append(f"{method} {path}")
    return found


def schemathesis(
    system: RunningSystem | None, _submit: Submitter | None, _: list[bytes]
) -> Outcome:
    """Scenario 8: `schemathesis run --checks all`, at least 200 examples per operation,
    against the live /openapi.json: the public operations once without a token, and each
    role's own operations with a token of that role (what a role may not call, and calls
    without a valid token, are scenario 7's access matrix; schemathesis still checks that
    each operation refuses a missing or wrong token). Logging out and erasing one's account
    end the login that asks, so they run apart, each call with a login of its own
    (chaos/schemathesis_hooks.py), and the rest of a role's run keeps its token."""
    assert system is not None
    operations = operations_by_role()
    runs: list[tuple[str, str | None, str | None, list[str]]] = []
    runs.append((PUBLIC, None, None, operations[PUBLIC]))
    for role in ROLES:
        school = "TH-0001" if role == STAFF else None
        authorization = system.headers_of(role, school=school)["Authorization"]
        mine = [name for name in operations[role] if name not in ENDS_LOGIN]
        ending = [name for name in operations[role] if name in ENDS_LOGIN]
        runs += [(role, school, authorization, mine), (role, school, PER_CALL_LOGIN, ending)]
    # The runs wait on the gateway more than they compute: side by side, they take about
    # the time of the longest one.
    with ThreadPoolExecutor(max_workers=len(runs)) as pool:
        answers = list(pool.map(lambda run: _schemathesis_run(system, *run), runs))
    results, ok, notes = [], True, []
    for (who, _school, given, names), answer in zip(runs, answers, strict=True):
        part = " (logout, account erasure)" if given == PER_CALL_LOGIN else ""
        honoured = (
            ""
            if who == PUBLIC
            else f", token honoured on {len(names) - len(answer.only_unauthenticated)}"
            f"/{len(names)} operations"
        )
        results.append(
            f"{who}{part}: {answer.tests} operations of {len(names)}, {answer.failed} with a"
            f" failing check, {answer.server_errors} server errors{honoured}, responses"
            f" {answer.statuses_text()} ({answer.summary})"
        )
        ok = ok and answer.server_errors == 0 and answer.tests == len(names)
        # Authenticated means answered past the token check: a role's own operation that
        # only ever got 401 would be a run that tested nothing.
        ok = ok and (who == PUBLIC or not answer.only_unauthenticated)
        notes += [
            f"Server error ({who}{part}):\n\n```\n{r}\n```" for r in answer.server_error_reports
        ]
    return Outcome("schemathesis", "; ".join(results), ok=ok, notes=notes)


@dataclass
class RunAnswer:
    """What one schemathesis run found, counted from its JUnit and HAR reports."""

    tests: int
    failed: int
    server_errors: int
    summary: str
    statuses: Counter[int] = field(default_factory=Counter)
    # operations whose every request carrying the run's token got 401
    only_unauthenticated: list[str] = field(default_factory=list)
    # schemathesis's report of each server error (operation, response, how to reproduce)
    server_error_reports: list[str] = field(default_factory=list)

    def statuses_text(self) -> str:
        """Responses by status class, e.g. {2xx: 310, 4xx: 2,050}."""
        classes: Counter[str] = Counter()
        for status, n in self.statuses.items():
            classes[f"{status // 100}xx"] += n
        return "{" + ", ".join(f"{k}: {n:,}" for k, n in sorted(classes.items())) + "}"


def _schemathesis_run(
    system: RunningSystem,
    role: str,
    school: str | None,
    authorization: str | None,
    names: list[str],
) -> RunAnswer:
    """One CLI run over `names`; tests, failing, server errors, statuses and its summary."""
    if not names:
        return RunAnswer(0, 0, 0, "no operations")
    with TemporaryDirectory() as scratch:
        report, har = Path(scratch) / "junit.xml", Path(scratch) / "run.har"
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
            # By default schemathesis stops an operation at its first failing check: every
            # operation gets its examples, failing or not.
            "--continue-on-failure",
            "--include-name-regex",
            "^(" + "|".join(re.escape(name) for name in names) + ")$",
            "--report",
            "junit,har",
            "--report-junit-path",
            str(report),
            "--report-har-path",
            str(har),
            "--no-color",
        ]
        if authorization not in (None, PER_CALL_LOGIN):
            args += ["--header", f"Authorization: {authorization}"]
        env = {
            **os.environ,
            "SCHEMATHESIS_HOOKS": "chaos.schemathesis_hooks",
            "CHAOS_GATEWAY_DB": system.databases["gateway"],
            "CHAOS_GATEWAY_URL": system.url,
            "CHAOS_ROLE": role,
            "CHAOS_SCHOOL": school or "",
            "CHAOS_PER_CALL_LOGIN": "1" if authorization == PER_CALL_LOGIN else "",
        }
        done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env=env)
        suffix = "-ending" if authorization == PER_CALL_LOGIN else ""
        log = system.workdir / f"schemathesis-{role}{suffix}.log"
        log.write_text(done.stdout + done.stderr)
        server_errors = len(re.findall(r"Server error", done.stdout))
        summary = [
            line for line in done.stdout.splitlines() if "passed" in line or "failed" in line
        ]
        tests, failed, _skipped = _junit(report) if report.exists() else (0, -1, 0)
        statuses, unauthenticated = _har(har, names) if har.exists() else (Counter(), ["no HAR"])
    return RunAnswer(
        tests,
        failed,
        server_errors,
        summary[-1].strip() if summary else "no summary",
        statuses,
        unauthenticated if authorization is not None else [],
        _server_error_reports(done.stdout),
    )


def _server_error_reports(output: str) -> list[str]:
    """The failure blocks of schemathesis's output that report a server error (the scratch
    directory with the full logs goes away with the system)."""
    blocks = re.split(r"\n(?=_{3,} )", output.split("= FAILURES =", 1)[-1])
    return [block.strip()[:3000] for block in blocks if "Server error" in block]


def _har(path: Path, names: list[str]) -> tuple[Counter[int], list[str]]:
    """Responses by status, and those of `names` whose every request that carried an
    Authorization header (schemathesis hides its value) got 401: with the run's token among
    them, a 401 everywhere means the token was not honoured."""
    patterns = {
        name: re.compile("^" + re.sub(r"\\\{[^/]*?\\\}", "[^/]+", re.escape(name)) + "$")
        for name in names
    }
    statuses: Counter[int] = Counter()
    answered: dict[str, set[int]] = {name: set() for name in names}
    for entry in json.loads(path.read_text())["log"]["entries"]:
        status = int(entry["response"]["status"])
        statuses[status] += 1
        request = entry["request"]
        if not any(h["name"].lower() == "authorization" for h in request["headers"]):
            continue
        called = f"{request['method']} {urlsplit(request['url']).path}"
        for name, pattern in patterns.items():
            if pattern.match(called):
                answered[name].add(status)
    return statuses, sorted(name for name, seen in answered.items() if seen <= {401})
