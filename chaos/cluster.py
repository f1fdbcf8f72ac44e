"""Scenario 12: the broker is a 3-node cluster (quorum queues) behind HAProxy, with two gateway
replicas and two instances of each service; under load, each node in turn is killed with
SIGKILL and restarted, never two at once. Every 202 must be stored once, every receipt sent
once, and the consumers must be back (on the surviving nodes) within a stated time."""

from __future__ import annotations

import itertools
import shutil
import threading
import time
from collections import Counter
from pathlib import Path

from kombu import Connection

from bench.loadgen import LoadResult
from chaos.infra import PrivatePostgres
from chaos.scenarios import Outcome, Submitter, _statuses, fresh_child, settle, submitter
from tests.support.processes import ROOT, Processes, free_port
from tests.support.system import SERVICES, RunningSystem, running_system
from tools.cluster import RabbitCluster, cluster_front

SUBMISSIONS = "registration.submit_application"
INSTANCES = 2  # of each service


def run(
    scratch: Path, postgres: PrivatePostgres, bodies: list[bytes], env: dict[str, str]
) -> Outcome:
    """Start the cluster, HAProxy and the system on it; run the scenario."""
    front = Processes(scratch / "front")
    replicas, http, amqp = [free_port(), free_port()], free_port(), free_port()
    with cluster_front(scratch / "rabbit", front, replicas, http, amqp) as rabbit:
        broker = (f"pyamqp://guest:guest@127.0.0.1:{amqp}/{rabbit.vhost}", rabbit.api_url())
        with running_system(
            scratch / "system",
            postgres=postgres,
            sms=True,
            broker=broker,
            replicas=replicas,
            front=f"http://127.0.0.1:{http}",
            extra_env={**env, "QUEUE_TYPE": "quorum", "TRUSTED_PROXIES": "1"},
        ) as system:
            for service in SERVICES:
                for n in range(2, INSTANCES + 1):
                    system.start_service(service, f"{service}-{n}")
            deadline = time.monotonic() + 120
            while _consumers(system.amqp_uri) < INSTANCES and time.monotonic() < deadline:
                time.sleep(0.5)  # every registration instance consumes before the load
            return restart_nodes(system, rabbit, submitter(system, system.parent_headers()), bodies)


def restart_nodes(
    system: RunningSystem, rabbit: RabbitCluster, submit: Submitter, bodies: list[bytes]
) -> Outcome:
    """Kill each node in turn (the submission queue's leader first) while submitting; restart
    it once the consumers are back; every node twice, or until the bodies run out."""
    results: list[LoadResult] = []

    def load() -> None:
        for start in range(0, len(bodies), 50):
            results.append(submit(bodies[start : start + 50]))
            time.sleep(0.1)

    loader = threading.Thread(target=load, daemon=True)
    loader.start()
    consumers = _consumers(system.amqp_uri)
    back_after: list[float] = []
    leader = rabbit.leader_of(SUBMISSIONS)
    order = [leader] + [node for node in rabbit.nodes if node is not leader]
    for node in itertools.islice(itertools.cycle(order), 2 * len(order)):
        time.sleep(3)
        node.kill()
        killed = time.monotonic()
        while _consumers(system.amqp_uri) < consumers:
            if time.monotonic() - killed > 300:
                break
            time.sleep(0.2)
        back_after.append(time.monotonic() - killed)
        node.start()
        while len(rabbit.running()) < len(rabbit.nodes):
            time.sleep(0.5)
        if not loader.is_alive():
            break
    loader.join()  # every body is submitted, however fast the kills went
    time.sleep(5)  # as in scenario 2: then everybody must take submissions again
    under_load = LoadResult(statuses=sum((r.statuses for r in results), Counter()))
    under_load.references = [ref for r in results for ref in r.references]
    under_load.timeouts = sum(r.timeouts for r in results)
    under_load.errors = sum(r.errors for r in results)
    after = submit([fresh_child(body) for body in bodies[:50]])
    answered = set(under_load.references) | set(after.references)
    verdict = settle(system, answered, timeout=900)
    alive = [name for name, process in system.processes.running.items() if process.poll() is None]
    figures = (
        f"{sum(under_load.statuses.values()):,} submissions through HAProxy answered"
        f" ({_statuses(under_load)}; client timeouts {under_load.timeouts}, connection"
        f" errors {under_load.errors}); {len(back_after)} node kills (SIGKILL, each restarted"
        f" before the next; the submission queue's leader first); the submission queue's"
        f" {consumers} consumers were back after"
        f" {', '.join(f'{s:.1f}' for s in back_after)} s (longest {max(back_after):.1f} s);"
        f" 50 submissions after the load: {_statuses(after)} (timeouts {after.timeouts},"
        f" connection errors {after.errors}); processes still"
        f" running: {len(alive)}/{len(system.processes.running)}"
    )
    ok = len(after.references) == 50 and len(alive) == len(system.processes.running)
    if not ok:  # keep every process's log for the post-mortem (the scratch directory goes)
        kept = ROOT / "var" / "chaos-logs" / time.strftime("cluster_nodes-%Y%m%d-%H%M%S")
        shutil.copytree(system.workdir / "logs", kept / "system")
        figures += f"; logs kept in {kept.relative_to(ROOT)}/"
    return Outcome("cluster_nodes", figures, verdict, ok=ok)


def _consumers(amqp_uri: str) -> int:
    """Consumers of the submission queue now, as the queue itself counts them (0 while the
    cluster cannot answer)."""
    try:
        with Connection(amqp_uri, connect_timeout=2) as connection:
            _, _, count = connection.default_channel.queue_declare(SUBMISSIONS, passive=True)
        return int(count)
    except Exception:
        return 0
