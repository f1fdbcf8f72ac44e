"""docker-compose.yml stays in step with the one-machine cluster (`make cluster`): the same
HAProxy configuration, three RabbitMQ nodes found by the same peer discovery, quorum queues
everywhere, two gateway replicas behind HAProxy. There is no Docker engine here: the file is
checked as YAML, and by `docker-compose config -q` (Debian's docker-compose, which .ci/run
installs), which needs no engine."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tools.cluster import NODES
from tools.haproxy import HAPROXY_CONFIG

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "docker-compose.yml").read_text()))


def test_three_rabbitmq_nodes_find_each_other_by_classic_config(compose: dict[str, Any]) -> None:
    services = compose["services"]
    rabbits = sorted(name for name in services if name.startswith("rabbit-"))
    conf = (ROOT / "docker" / "rabbitmq" / "rabbitmq.conf").read_text()
    named = re.findall(r"classic_config\.nodes\.\d+ = rabbit@(\S+)", conf)

    assert len(rabbits) == NODES
    assert sorted(named) == rabbits == sorted(services[name]["hostname"] for name in rabbits)
    assert "peer_discovery_backend = classic_config" in conf


def test_haproxy_is_the_same_config_with_every_server_given(compose: dict[str, Any]) -> None:
    services = compose["services"]
    haproxy = services["haproxy"]
    config = HAPROXY_CONFIG.read_text()
    wanted = set(re.findall(r'"\$\{((?:GATEWAY|RABBIT)_\d)', config))

    assert "./docker/haproxy:/usr/local/etc/haproxy:ro" in haproxy["volumes"]
    assert wanted == {name for name in haproxy["environment"] if name[-1].isdigit()}
    gateways = sorted(name for name in services if name.startswith("gateway-"))
    assert len(gateways) >= 2
    assert {v.split(":")[0] for k, v in haproxy["environment"].items() if "GATEWAY_" in k} == set(
        gateways
    )


def test_every_process_uses_quorum_queues_through_haproxy(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        env = service.get("environment", {})
        if "AMQP_URI" in env:
            assert env["QUEUE_TYPE"] == "quorum", name
            assert "@haproxy:5672/" in env["AMQP_URI"], name
    for name in ("registration", "allocation", "notification"):
        assert compose["services"][name]["deploy"]["replicas"] >= 2


def test_the_haproxy_config_is_valid() -> None:
    haproxy = shutil.which("haproxy")
    if haproxy is None:
        pytest.fail("HAProxy is not installed (apt-get install haproxy): .ci/run installs it")
    env = {f"GATEWAY_{i}": f"127.0.0.1:{i}" for i in (1, 2)} | {
        f"RABBIT_{i}": f"127.0.0.1:{10 + i}" for i in (1, 2, 3)
    }
    check = subprocess.run(
        [haproxy, "-c", "-f", str(HAPROXY_CONFIG)], env=env, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_compose_file_is_valid_for_docker_compose() -> None:
    tool = shutil.which("docker-compose")
    if tool is None:
        pytest.fail("docker-compose is not installed (apt-get install docker-compose): .ci/run")
    check = subprocess.run([tool, "config", "-q"], cwd=ROOT, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
