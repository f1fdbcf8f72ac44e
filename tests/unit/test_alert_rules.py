"""The Prometheus files in ops/prometheus: the rules parse, fire as their unit tests say, and
the scrape configuration is valid. promtool comes with Debian's `prometheus` package; without
it these tests fail (they never skip)."""

from __future__ import annotations

import yaml

from tests.support.promtool import OPS, promtool


def test_promtool_check_rules_passes() -> None:
    result = promtool("check", "rules", "alerts.yml")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 8 rules found" in result.stdout


def test_the_rules_fire_as_their_unit_tests_expect() -> None:
    result = promtool("test", "rules", "alerts.test.yml")

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rule_unit_tests_cover_dead_letters_and_a_growing_backlog() -> None:
    tests = yaml.safe_load((OPS / "alerts.test.yml").read_text())["tests"]
    tested = {case["alertname"] for test in tests for case in test["alert_rule_test"]}

    assert {"MessageDeadLettered", "BacklogGrowing"} <= tested


def test_every_rule_has_a_runbook_line_in_the_readme() -> None:
    readme = (OPS.parents[1] / "README.md").read_text()
    rules = yaml.safe_load((OPS / "alerts.yml").read_text())["groups"][0]["rules"]

    for rule in rules:
        assert f"**{rule['alert']}**" in readme, f"no runbook line for {rule['alert']}"


def test_the_scrape_configuration_is_valid() -> None:
    result = promtool("check", "config", "prometheus.yml")

    assert result.returncode == 0, result.stdout + result.stderr
