"""schemathesis against the live gateway (gunicorn, gevent workers) and the real services: it
reads /openapi.json as served, generates requests for every operation from it (bounded: a
few examples each, valid and invalid data), sends them with a logged-in account of each
role, and checks every answer against the same spec: no server error, a documented status
and content type, a body that matches the documented schema."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.conftest import System
from tests.support.accounts import (
    DEPARTMENT,
    HELPDESK,
    PARENT,
    STAFF,
    bearer,
    credentials,
    make_account,
)

pytestmark = pytest.mark.e2e

EXAMPLES = 10  # per operation, per generation mode, per role: bounded, a few minutes in all
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def log_in(system: System, role: str) -> dict[str, str]:
    """A new account of `role`, logged in through the gateway: its Authorization header."""
    db = system.databases["gateway"]
    account = make_account(
        db,
        role,
        school="TH-0001" if role == STAFF else None,
        ward="00004" if role == HELPDESK else None,
    )
    answer = requests.post(
        system.api("/api/v1/auth/token"), json=credentials(db, account), timeout=30
    )
    assert answer.status_code == 200, answer.text
    return bearer(answer.json()["access_token"])


@pytest.mark.parametrize("role", [PARENT, STAFF, DEPARTMENT, HELPDESK])
def test_every_answer_of_the_live_api_keeps_to_its_spec(system: System, role: str) -> None:
    schema = schemathesis.openapi.from_url(system.api("/openapi.json"), timeout=30)
    headers = log_in(system, role)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                exercise(system, operation, mode, headers, role)
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing to send wrong: no input
            except (Exception, BaseExceptionGroup) as exc:  # every broken operation, at the end
                failures.append(f"{operation.label} ({mode.value}): {exc}"[:2000])
    assert failures == [], "\n\n".join(failures)


def exercise(
    system: System, operation: Any, mode: GenerationMode, headers: dict[str, str], role: str
) -> None:
    """Send `EXAMPLES` generated requests of one operation and validate each answer."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        # Logging out and erasing one's account end the login; those calls get their own.
        ends_login = operation.path.endswith(("/logout", "/me/erasure"))
        sent = log_in(system, role) if ends_login else headers
        case.call_and_validate(base_url=system.url, headers=sent, checks=CHECKS, timeout=60)

    run()
