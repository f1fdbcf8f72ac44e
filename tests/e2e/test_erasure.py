"""Withdrawal and erasure end to end (scenario 11 of `make chaos`, at the small demo city's
size): parents ask for erasure through the gateway, the retention rule runs in registration
(due at once here), allocation and notification erase their copies off the broker, and then
every table of the four PostgreSQL databases is searched for the children's citizen IDs,
names and guardians' contacts; the round's statistics must be the same before and after."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.loadgen import bodies_from
from chaos import erasure, scenarios
from chaos.infra import PG_BIN, PrivatePostgres
from tests.support.system import RunningSystem, running_system
from tools.demo_city import build_city

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    workdir = tmp_path_factory.mktemp("erasure")
    build_city(workdir / "city", "small", 2027, 2027)
    postgres = PrivatePostgres().init() if (PG_BIN / "initdb").exists() else None
    try:
        with running_system(
            workdir / "system",
            city=workdir / "city",
            sms=True,
            postgres=postgres,
            extra_env=erasure.ERASURE_ENV,
        ) as running:
            yield running
    finally:
        if postgres is not None:
            postgres.stop()


def test_erased_children_are_nowhere_and_the_statistics_stand(system: RunningSystem) -> None:
    bodies = bodies_from(system.workdir.parent / "city" / "applications.jsonl")
    submit = scenarios.submitter(system, system.parent_headers(), concurrency=4)

    outcome = erasure.erasure(system, submit, bodies[:120])

    assert outcome.verdict is not None
    assert outcome.passed, f"{outcome.figures}: {outcome.verdict.summary()}"
