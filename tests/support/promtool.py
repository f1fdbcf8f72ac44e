"""Running promtool (Debian's `prometheus` package) on the rules in ops/prometheus; without
it the tests that need it fail, they never skip."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from tests.support.processes import ROOT

OPS = ROOT / "ops" / "prometheus"


def promtool(*args: str, cwd: Path = OPS) -> subprocess.CompletedProcess[str]:
    """Run promtool in `cwd`; its exit code and output are the caller's to check."""
    binary = shutil.which("promtool")
    assert binary, "promtool is missing: apt-get install prometheus"
    return subprocess.run(
        [binary, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def assert_rules_fire(
    workdir: Path,
    series: dict[str, list[float]],
    fired: dict[tuple[str, int], list[dict[str, str]]],
) -> None:
    """`promtool test rules` with the repository's rules over `series`, one sample every
    30 s: at each (alert, second) exactly the alerts with the given labels fire. The rules'
    expressions are the repository's; only their annotations (texts) are left out."""
    rules = yaml.safe_load((OPS / "alerts.yml").read_text())
    for rule in rules["groups"][0]["rules"]:
        rule.pop("annotations")
    (workdir / "alerts.yml").write_text(yaml.safe_dump(rules))
    checks = [
        {
            "eval_time": f"{second}s",
            "alertname": alert,
            "exp_alerts": [{"exp_labels": labels} for labels in alerts],
        }
        for (alert, second), alerts in fired.items()
    ]
    inputs = [
        {"series": name, "values": " ".join(f"{v:g}" for v in values)}
        for name, values in series.items()
    ]
    test = {"interval": "30s", "input_series": inputs, "alert_rule_test": checks}
    document = {"rule_files": ["alerts.yml"], "evaluation_interval": "30s", "tests": [test]}
    (workdir / "scraped.test.yml").write_text(yaml.safe_dump(document))
    result = promtool("test", "rules", "scraped.test.yml", cwd=workdir)
    assert result.returncode == 0, f"{series}\n{result.stdout}{result.stderr}"
