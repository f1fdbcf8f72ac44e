"""Every process's metrics after a short season, on the real system (three `nameko run`
services, the gunicorn gateway, the SMTP and SMS sinks, RabbitMQ, PostgreSQL).

The counts must agree with what really happened: applications stored with the 202s and the
database, notices sent with what the sinks received. Then the system is driven into two
alert conditions, a dead-lettered message and a growing backlog (registration stopped), and
the scraped series, fed to `promtool test rules` with the repository's own rules, fire them.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

from bench.loadgen import bodies_from
from services.notification.delivery.sms import shape
from shared.messaging.bus import MessageBus
from tests.support.processes import ROOT, free_port
from tests.support.promtool import assert_rules_fire
from tests.support.system import RunningSystem, running_system
from tests.support.waiting import wait_for
from tools.demo_city import build_city

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

SUBMIT_QUEUE = "registration.submit_application"
# Debian's prometheus package keeps the console libraries among its examples.
CONSOLE_LIBRARIES = "/usr/share/doc/prometheus/examples/console_libraries"
Samples = list[tuple[str, dict[str, str], float]]


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    workdir = tmp_path_factory.mktemp("metrics")
    city = workdir / "city"
    build_city(city, "small", 2027, 2027)
    env = {"METRICS_POLL_SECONDS": "1", "LOG_LEVEL": "INFO"}
    with running_system(workdir / "system", city=city, sms=True, extra_env=env) as running:
        yield running


@pytest.fixture(scope="module")
def bodies(system: RunningSystem) -> list[dict[str, Any]]:
    found = bodies_from(system.workdir.parent / "city" / "applications.jsonl")
    return [body for body in map(json.loads, found) if body["round_id"] == "2027-grade_1"]


@pytest.fixture(scope="module")
def parent(system: RunningSystem) -> dict[str, str]:
    return system.parent_headers()


def scrape(system: RunningSystem, process: str) -> Samples:
    """Every sample a process exports right now."""
    if process == "gateway":
        url = f"{system.url}/metrics"
    else:
        url = f"http://127.0.0.1:{system.processes.metrics_ports[process]}/metrics"
    answer = requests.get(url, timeout=10)
    assert answer.status_code == 200, f"{process}: {answer.status_code}"
    families = text_string_to_metric_families(answer.text)
    return [(s.name, s.labels, s.value) for family in families for s in family.samples]


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of a series over the samples whose labels include `labels`."""
    return sum(
        value
        for sample, have, value in samples
        if sample == name and all(have.get(k) == v for k, v in labels.items())
    )


def submit(system: RunningSystem, parent: dict[str, str], bodies: list[dict[str, Any]]) -> int:
    """POST each body; returns how many were answered 202."""
    accepted = 0
    for body in bodies:
        answer = requests.post(
            f"{system.url}/api/v1/applications", json=body, headers=parent, timeout=30
        )
        assert answer.status_code in (202, 503), answer.text
        accepted += answer.status_code == 202
    return accepted


def settled(read: Any, seconds: float = 2.0) -> Any:
    """`read()` once it gives the same answer twice, `seconds` apart."""
    while True:
        first = read()
        time.sleep(seconds)
        if read() == first:
            return first


def test_the_counts_agree_with_the_202s_the_database_and_the_sinks(
    system: RunningSystem, parent: dict[str, str], bodies: list[dict[str, Any]]
) -> None:
    good = bodies[:30]
    # A name the register does not have for that citizen ID: rejected, name_mismatch.
    wrong = [{**b, "child": {**b["child"], "full_name": "Tên Không Khớp"}} for b in bodies[30:36]]
    accepted = submit(system, parent, good + wrong)
    assert accepted > 0

    def registration_done() -> Samples:
        samples = scrape(system, "registration")
        stored = total(samples, "registration_applications_stored_total")
        checked = total(samples, "registration_applications_verified_total") + total(
            samples, "registration_applications_rejected_total"
        )
        return samples if stored == accepted and checked == stored else []

    samples = wait_for(registration_done, timeout=120, what="registration's counters")
    in_database = system.count("registration", "SELECT count(*) FROM applications")
    assert total(samples, "registration_applications_stored_total") == in_database == accepted
    assert total(samples, "registration_applications_rejected_total") == len(wrong)
    reasons = total(samples, "registration_rejection_reasons_total", reason="name_mismatch")
    assert reasons == len(wrong)
    gateway = scrape(system, "gateway")
    assert total(gateway, "gateway_http_requests_total", method="POST", status="202") == accepted
    assert total(samples, "tuyensinh_handler_duration_seconds_count") > 0
    assert total(samples, "tuyensinh_events_committed_total", type="application_received") == (
        accepted
    )

    def sends() -> tuple[int, int, float, float, float]:
        texts = system.sms_outbox.read_text().splitlines() if system.sms_outbox.exists() else []
        notices = scrape(system, "notification")
        return (
            len(list(system.maildir.glob("*.eml"))),
            len(texts),
            total(notices, "notification_notices_total", channel="email", status="sent"),
            total(notices, "notification_notices_total", channel="sms", status="sent"),
            sum(shape(json.loads(line)["text"]).segments for line in texts)
            - total(notices, "notification_sms_segments_total"),
        )

    # Every application gets its receipt by e-mail, with its verdict in the same notice (it
    # was checked in the receipt's transaction).
    wait_for(lambda: sends()[0] >= accepted, timeout=180, what="the notices")
    mails, texts, mails_counted, texts_counted, segments_off = settled(sends)
    assert mails_counted == mails >= accepted
    assert texts_counted == texts > 0
    assert segments_off == 0
    budget = total(scrape(system, "notification"), "notification_sms_budget_segments")
    assert budget == 500000

    # Nothing a parent typed is in any label of any process.
    typed = {v for b in good + wrong for v in (b["child"]["citizen_id"], b["guardian"]["email"])}
    typed |= {b["guardian"]["phone"] for b in good}
    for process in ("gateway", "registration", "allocation", "notification"):
        labels = {value for _, have, _ in scrape(system, process) for value in have.values()}
        assert not labels & typed, process


def test_prometheus_scrapes_every_process_loads_the_rules_and_serves_the_page(
    system: RunningSystem, parent: dict[str, str], bodies: list[dict[str, Any]], tmp_path: Path
) -> None:
    prometheus = shutil.which("prometheus")
    assert prometheus, "prometheus is missing: apt-get install prometheus"
    ops = ROOT / "ops" / "prometheus"
    config = yaml.safe_load((ops / "prometheus.yml").read_text())
    config["global"] |= {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = [str(ops / "alerts.yml")]
    ports = {**system.processes.metrics_ports, "gateway": int(system.url.rsplit(":", 1)[1])}
    for job in config["scrape_configs"]:  # one machine: each job's one process, by port
        job.pop("dns_sd_configs", None)
        job["static_configs"] = [{"targets": [f"127.0.0.1:{ports[job['job_name']]}"]}]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    args = [
        prometheus,
        f"--config.file={tmp_path / 'prometheus.yml'}",
        f"--storage.tsdb.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        f"--web.console.templates={ops / 'consoles'}",
        f"--web.console.libraries={CONSOLE_LIBRARIES}",
    ]
    system.processes.start("prometheus", args, {})
    api = f"http://127.0.0.1:{port}/api/v1"
    try:

        def all_up() -> list[str]:
            try:
                answer = requests.get(f"{api}/query", params={"query": "up == 1"}, timeout=5)
            except requests.RequestException:
                return []
            result = answer.json()["data"]["result"] if answer.ok else []
            jobs = sorted(sample["metric"]["job"] for sample in result)
            return jobs if len(jobs) == len(ports) else []

        jobs = wait_for(all_up, timeout=60, what="Prometheus to scrape every process")
        assert jobs == sorted(ports)
        assert submit(system, parent, bodies[36:38]) == 2

        def same_count() -> float:
            # What Prometheus last scraped, once it agrees with the endpoint (1 s scrapes).
            query = {"query": "sum(registration_applications_stored_total)"}
            answer = requests.get(f"{api}/query", params=query, timeout=5).json()
            seen = answer["data"]["result"]
            direct = "registration_applications_stored_total"
            stored = total(scrape(system, "registration"), direct)
            return stored if seen and float(seen[0]["value"][1]) == stored >= 2 else 0

        stored = wait_for(same_count, timeout=60, what="Prometheus and the endpoint to agree")

        def rules_healthy() -> list[str]:
            rules = requests.get(f"{api}/rules", timeout=5).json()["data"]["groups"][0]["rules"]
            health = {rule["name"]: rule["health"] for rule in rules}
            return sorted(health) if set(health.values()) == {"ok"} else []

        healthy = wait_for(rules_healthy, timeout=30, what="every rule evaluated without error")
        assert len(healthy) == 8
        page = requests.get(f"http://127.0.0.1:{port}/consoles/tuyensinh.html", timeout=10)
        assert page.status_code == 200, page.text[:2000]
        assert "Applications stored</th><td>" + f"{stored:g}" in page.text
        assert page.text.count("new PromConsole.Graph") == 14
    finally:
        system.processes.stop("prometheus")


def test_a_dead_lettered_message_fires_its_alert(system: RunningSystem, tmp_path: Path) -> None:
    before = total(
        scrape(system, "registration"), "tuyensinh_messages_dead_lettered_total", queue=SUBMIT_QUEUE
    )
    garbage = {"event_id": "poison-metrics", "type": "nonsense", "payload": 1}
    bus = MessageBus(system.amqp_uri)
    bus._publisher.publish(garbage, exchange="", routing_key=SUBMIT_QUEUE, mandatory=True)

    def parked() -> tuple[float, ...]:
        counted = total(
            scrape(system, "registration"),
            "tuyensinh_messages_dead_lettered_total",
            queue=SUBMIT_QUEUE,
        )
        # Reported by another service's poll of the broker.
        depth = total(
            scrape(system, "allocation"), "tuyensinh_dead_letter_messages", queue=SUBMIT_QUEUE
        )
        return (counted, depth) if counted == before + 1 and depth >= 1 else ()

    counted, depth = wait_for(parked, timeout=60, what="the dead letter in the metrics")
    series = {
        f'tuyensinh_messages_dead_lettered_total{{job="registration",queue="{SUBMIT_QUEUE}"}}': (
            [before] * 2 + [counted] * 10
        ),
        f'tuyensinh_dead_letter_messages{{job="allocation",queue="{SUBMIT_QUEUE}",'
        'consumer_service="registration"}': [0.0] * 2 + [depth] * 10,
    }
    fired = {
        ("MessageDeadLettered", 30): [],
        ("MessageDeadLettered", 90): [_labels("MessageDeadLettered", SUBMIT_QUEUE)],
    }
    assert_rules_fire(tmp_path, series, fired)


def test_a_growing_backlog_and_a_queue_without_consumer_fire_their_alerts(
    system: RunningSystem, parent: dict[str, str], bodies: list[dict[str, Any]], tmp_path: Path
) -> None:
    system.processes.stop("registration")
    depths, consumers = [], []
    more = iter(bodies[40:])
    for _ in range(8):
        submit(system, parent, [next(more), next(more)])
        time.sleep(2.5)  # the pollers read the broker every second
        samples = scrape(system, "allocation")
        depths.append(total(samples, "tuyensinh_queue_messages", queue=SUBMIT_QUEUE))
        consumers.append(total(samples, "tuyensinh_queue_consumers", queue=SUBMIT_QUEUE))
    assert depths == sorted(depths) and depths[-1] > depths[0], depths
    labels = f'job="allocation",queue="{SUBMIT_QUEUE}",consumer_service="registration"'
    series = {
        f"tuyensinh_queue_messages{{{labels}}}": depths,
        f"tuyensinh_queue_consumers{{{labels}}}": consumers,
    }
    # One scrape every 30 s of rule time: growing since the second, for 2 minutes by 3 min.
    fired = {
        ("BacklogGrowing", 60): [],
        ("BacklogGrowing", 210): [_labels("BacklogGrowing", SUBMIT_QUEUE)],
        ("QueueWithoutConsumer", 90): [_labels("QueueWithoutConsumer", SUBMIT_QUEUE)],
    }
    assert_rules_fire(tmp_path, series, fired)
    system.start_service("registration")


def _labels(alert: str, queue: str) -> dict[str, str]:
    labels = {"severity": "page", "queue": queue}
    if alert in ("BacklogGrowing", "QueueWithoutConsumer"):
        labels["consumer_service"] = queue.split(".", 1)[0]
    return labels
