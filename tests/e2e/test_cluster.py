"""Scale-out on real parts: three RabbitMQ nodes clustered (quorum queues), HAProxy in front of
them and of two gateway replicas, two registration instances. Submissions go through HAProxy
while the node leading the submission queue is killed with SIGKILL, then one gateway replica.
Every 202 must be stored exactly once, and the survivors must carry on with no restart.
The seconds in which submissions were refused or slowed are reported (not asserted: speed
is for `make bench`).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import requests

from bench.loadgen import bodies_from
from chaos.infra import PrivateRabbit
from chaos.invariants import rows
from tests.e2e.conftest import FIGURES
from tests.support.cluster import ClusterSystem, running_on_cluster
from tests.support.system import RunningSystem
from tests.support.waiting import wait_for
from tools.cluster import RabbitCluster
from tools.demo_city import build_city

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

SUBMISSIONS = "registration.submit_application"
SLOW_SECONDS = 1.0  # an answer slower than this counts its second as "slowed"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterSystem]:
    workdir = tmp_path_factory.mktemp("cluster")
    city = workdir / "city"
    build_city(city, "small", 2027, 2027)
    with running_on_cluster(workdir, city=city, extra_env={"GATEWAY_WORKERS": "1"}) as cluster:
        cluster.system.start_service("registration", "registration-2")
        yield cluster


@dataclass
class Answer:
    sent: float
    seconds: float
    status: int  # 0: no answer (connection error or timeout)
    reference: str | None


@dataclass
class Load:
    """Closed-loop submissions from a few clients until `stop` is set."""

    url: str
    headers: dict[str, str]
    bodies: list[bytes]
    answers: list[Answer] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.monotonic)
    refusals: list[str] = field(default_factory=list)

    def run(self, clients: int = 4) -> list[threading.Thread]:
        source = iter(self.bodies)
        lock = threading.Lock()

        def next_body() -> bytes:
            with lock:
                body = next(source, None)
            return body if body is not None else _another_child(self.bodies[0])

        def client() -> None:
            session = requests.Session()
            while not self.stop.is_set():
                self.answers.append(self.submit(session, next_body()))
                time.sleep(0.02)

        threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
        for thread in threads:
            thread.start()
        return threads

    def submit(self, session: requests.Session, body: bytes) -> Answer:
        sent = time.monotonic()
        headers = {**self.headers, "Content-Type": "application/json"}
        try:
            answer = session.post(self.url, data=body, headers=headers, timeout=30)
        except requests.RequestException:
            return Answer(sent - self.started, time.monotonic() - sent, 0, None)
        reference = answer.json().get("reference") if answer.status_code == 202 else None
        if answer.status_code != 202:
            self.refusals.append(f"{answer.status_code} {answer.text[:200]}")
        return Answer(sent - self.started, time.monotonic() - sent, answer.status_code, reference)


def _another_child(body: bytes) -> bytes:
    # The same form for another child (a citizen ID outside the register: rejected later,
    # which is an outcome like any other, but stored all the same).
    form = json.loads(body)
    form["child"]["citizen_id"] = f"{random.randrange(10**11, 10**12):012d}"
    return json.dumps(form).encode()


def _timeline(answers: list[Answer]) -> str:
    """Per second of the load: 202s / others (status: count)."""
    seconds: dict[int, dict[int, int]] = {}
    for answer in answers:
        per = seconds.setdefault(int(answer.sent), {})
        per[answer.status] = per.get(answer.status, 0) + 1
    return " ".join(f"{t}s:{per}" for t, per in sorted(seconds.items()))


def _troubled_seconds(answers: list[Answer]) -> tuple[int, int]:
    """Seconds (since the load started) with a refusal, and with only slow answers."""
    refused = {int(a.sent) for a in answers if a.status != 202}
    slowed = {int(a.sent) for a in answers if a.seconds > SLOW_SECONDS} - refused
    return len(refused), len(slowed)


def test_public_lookups_come_from_the_proxy_cache_and_private_ones_never(
    cluster: ClusterSystem,
) -> None:
    url = f"{cluster.system.url}/api/v1/rounds"
    first = requests.get(url, timeout=10)
    again = requests.get(url, timeout=10)
    signed_in = requests.get(url, headers=cluster.system.parent_headers(), timeout=10)

    assert first.status_code == again.status_code == signed_in.status_code == 200
    assert first.headers["Cache-Control"] == "public, max-age=5"
    assert "Age" not in first.headers and "Age" in again.headers  # the proxy answered
    assert again.json() == first.json()
    assert "Age" not in signed_in.headers  # a request with credentials goes to a gateway
    assert signed_in.headers["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize("path", ["/", "/lookup?ward=00004&level=grade_1"])
def test_the_home_page_and_a_catchment_page_come_from_the_proxy_cache_signed_out_only(
    cluster: ClusterSystem, path: str
) -> None:
    url = f"{cluster.system.url}{path}"
    first, again = requests.get(url, timeout=10), requests.get(url, timeout=10)
    with_cookie = requests.get(url, cookies={"lang": "en"}, timeout=10)
    sets_cookie = requests.get(f"{url}{'&' if '?' in path else '?'}lang=en", timeout=10)
    sets_again = requests.get(f"{url}{'&' if '?' in path else '?'}lang=en", timeout=10)

    assert {first.status_code, again.status_code, with_cookie.status_code} == {200}
    assert first.headers["Cache-Control"] == "public, max-age=5"
    assert "Vary" not in first.headers
    assert "Age" not in first.headers and "Age" in again.headers  # the proxy answered
    assert again.text == first.text
    # A cookie (a language, a session) goes to a gateway, and is never kept.
    assert "Age" not in with_cookie.headers
    assert with_cookie.headers["Cache-Control"] == "private, no-store"
    # An answer that sets a cookie is never kept, nor is it marked public.
    assert "Set-Cookie" in sets_cookie.headers and "Age" not in sets_again.headers
    assert "public" not in sets_cookie.headers.get("Cache-Control", "")


def test_a_broker_node_and_a_gateway_replica_die_and_every_202_is_stored_once(
    cluster: ClusterSystem, record_property: pytest.RecordProperty
) -> None:
    system, rabbit = cluster.system, cluster.rabbit
    bodies = bodies_from(system.workdir.parent / "city" / "applications.jsonl")
    url = f"{system.url}/api/v1/applications"
    load = Load(url, system.parent_headers(), bodies)
    threads = load.run()
    wait_for(lambda: len(load.answers) >= 200, timeout=120, what="the load to get going")

    leader = rabbit.leader_of(SUBMISSIONS)
    leader.kill()  # SIGKILL, first the node leading the submission queue
    killed_node_at = time.monotonic() - load.started
    new_leader = wait_for(lambda: _other_leader(rabbit, leader), timeout=60, what="a new leader")
    time.sleep(8)
    system.kill("gateway-2")  # SIGKILL one gateway replica
    killed_gateway_at = time.monotonic() - load.started
    time.sleep(8)
    load.stop.set()
    for thread in threads:
        thread.join(timeout=60)

    # The survivors carry on, nothing restarted: a last round goes through in full.
    after = Load(url, load.headers, [_another_child(body) for body in bodies[:40]])
    final = [after.submit(requests.Session(), body) for body in after.bodies]
    assert [answer.status for answer in final] == [202] * 40

    answered = [a.reference for a in load.answers + final if a.reference]
    assert len(answered) == len(set(answered))
    counts = _stored(system, answered)
    lost = [ref for ref in answered if counts.get(ref, 0) == 0]
    doubled = [ref for ref in answered if counts.get(ref, 0) > 1]
    refused, slowed = _troubled_seconds(load.answers)
    statuses: dict[int, int] = {}
    for answer in load.answers:
        statuses[answer.status] = statuses.get(answer.status, 0) + 1
    figures = (
        f"{len(load.answers)} submissions through HAProxy in {load.answers[-1].sent:.0f} s"
        f" (answers {dict(sorted(statuses.items()))}); node {leader.node} (leader of"
        f" {SUBMISSIONS}) SIGKILLed at {killed_node_at:.0f} s, new leader {new_leader};"
        f" gateway-2 SIGKILLed at {killed_gateway_at:.0f} s; seconds with refusals: {refused},"
        f" seconds only slowed (> {SLOW_SECONDS:.0f} s): {slowed}; 202s: {len(answered)},"
        f" stored once: {len(answered) - len(lost) - len(doubled)}, lost: {len(lost)},"
        f" doubled: {len(doubled)}; timeline: {_timeline(load.answers)}"
    )
    FIGURES.append(f"cluster test: {figures}")
    FIGURES.extend(sorted(set(load.refusals))[:5])
    record_property("figures", figures)
    assert not lost and not doubled, figures
    alive = {name for name, p in system.processes.running.items() if p.poll() is None}
    assert alive == set(system.processes.running), figures  # the killed replica was popped
    assert cluster.front.running["haproxy"].poll() is None


def _other_leader(rabbit: RabbitCluster, old: PrivateRabbit) -> str | None:
    try:
        leader = rabbit.queue(SUBMISSIONS).get("leader")
    except ConnectionError:
        return None
    return leader if leader and leader != old.node else None


def _stored(system: RunningSystem, references: list[str]) -> dict[str, int]:
    """How many rows each reference has, once every answered one arrived (or 180 s)."""
    wanted = set(references)

    def counts() -> dict[str, int]:
        found: dict[str, int] = {}
        engine_rows = _rows(system, "SELECT reference, count(*) FROM applications GROUP BY 1")
        for reference, count in engine_rows:
            if reference in wanted:
                found[reference] = int(count)
        return found

    try:
        return wait_for(lambda: (c := counts()) and len(c) == len(wanted) and c, timeout=180)
    except AssertionError:
        return counts()


def _rows(system: RunningSystem, sql: str) -> list[tuple[str, int]]:
    return [(str(row[0]), int(row[1])) for row in rows(system.databases["registration"], sql)]
