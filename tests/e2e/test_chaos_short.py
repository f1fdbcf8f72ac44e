"""Short versions of the chaos scenarios 1, 4 and 5 (`python -m chaos` runs the long ones),
on one running system of the small demo city, so that they cannot regress: the same
scenario code and the same invariant checker as `make chaos`. Scenario 7 (the access
matrix) runs in full in tests/e2e/test_access.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.loadgen import bodies_from
from chaos import scenarios
from chaos.infra import PG_BIN, PrivatePostgres
from tests.support.system import RunningSystem, running_system
from tools.demo_city import build_city

# A guard against a hang, not a speed test: on a busy 2-core machine the module's set-up
# (demo city, private PostgreSQL, six processes) alone can take minutes.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    workdir = tmp_path_factory.mktemp("chaos")
    city = workdir / "city"
    build_city(city, "small", 2027, 2027)
    # Its own PostgreSQL cluster where the machine has one to start: the shared server's
    # connection slots are not ours to count on while other suites run beside this one.
    postgres = PrivatePostgres().init() if (PG_BIN / "initdb").exists() else None
    try:
        with running_system(workdir / "system", city=city, sms=True, postgres=postgres) as running:
            yield running
    finally:
        if postgres is not None:
            postgres.stop()


@pytest.fixture(scope="module")
def bodies(system: RunningSystem) -> list[bytes]:
    return bodies_from(system.workdir.parent / "city" / "applications.jsonl")


def _assert_passed(outcome: scenarios.Outcome) -> None:
    assert outcome.verdict is not None
    assert outcome.passed, f"{outcome.figures}: {outcome.verdict.summary()}"


def test_kill_registration_loses_and_doubles_nothing(
    system: RunningSystem, bodies: list[bytes]
) -> None:
    submit = scenarios.submitter(system, system.parent_headers(), concurrency=4)
    _assert_passed(scenarios.kill_registration(system, submit, bodies[:120], kills=2))


def test_killing_the_notifier_mid_send_sends_nothing_twice(
    system: RunningSystem, bodies: list[bytes]
) -> None:
    submit = scenarios.submitter(system, system.parent_headers(), concurrency=4)
    outcome = scenarios.kill_notifier(system, submit, bodies[120:220], kills=2)
    _assert_passed(outcome)
    assert outcome.verdict is not None
    assert not any(outcome.verdict.receipts_doubled.values())


def test_poison_goes_to_the_dead_letter_queues_and_good_traffic_flows(
    system: RunningSystem, bodies: list[bytes]
) -> None:
    submit = scenarios.submitter(system, system.parent_headers(), concurrency=4)
    _assert_passed(scenarios.poison(system, submit, bodies[220:300], per_queue=5))
