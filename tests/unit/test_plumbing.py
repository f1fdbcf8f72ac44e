"""Small pieces of plumbing: references, topology, configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.references import application_reference
from services.allocation.domain import next_status, round_id_for
from services.allocation.exceptions import InvalidTransition
from shared.config import DEVELOPMENT_SECRET, InsecureConfiguration, load_config
from shared.messaging.handlers import handle_event
from tools.topology import all_queues, work_queues


def test_a_reference_is_stable_per_child_and_round_and_secret() -> None:
    first = application_reference("s3cret", "2027-grade_1", "001221000123")

    assert first == application_reference("s3cret", "2027-grade_1", "001221000123")
    assert first != application_reference("s3cret", "2027-grade_6", "001221000123")
    assert first != application_reference("other", "2027-grade_1", "001221000123")
    assert first.startswith("TS") and len(first) == 18 and first.isalnum()


def test_every_work_queue_has_a_dead_letter_queue() -> None:
    queues = {queue.name for queue in all_queues([1000, 5000])}

    for queue in work_queues():
        assert f"{queue.name}.dead" in queues
    assert {"tuyensinh.delay.1000ms", "tuyensinh.delay.5000ms"} <= queues


def test_a_handler_of_several_events_must_name_its_queue() -> None:
    with pytest.raises(TypeError, match="queue="):
        handle_event("allocation", "seat_offered", "offer_expired")


def test_config_reads_variables_with_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config.yml"
    path.write_text("A: ${TS_TEST_A:fallback}\nB: ${TS_TEST_B:2}\n", encoding="utf-8")
    monkeypatch.setenv("TS_TEST_A", "from-env")

    assert load_config(path) == {"A": "from-env", "B": 2}


def test_a_default_secret_is_refused_outside_development(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_text(f"ENVIRONMENT: production\nREFERENCE_SECRET: {DEVELOPMENT_SECRET}\n")

    with pytest.raises(InsecureConfiguration):
        load_config(path)


def test_a_round_moves_only_along_its_lifecycle() -> None:
    assert next_status("open", "draft") == "open"
    assert next_status("close", "open") == "closed"
    with pytest.raises(InvalidTransition):
        next_status("publish", "open")


def test_round_ids_are_readable() -> None:
    assert round_id_for(2027, "grade_1") == "2027-grade_1"
    assert round_id_for(2027, "grade_1", 2) == "2027-grade_1-r2"
