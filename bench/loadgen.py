"""An asyncio HTTP load generator: closed-loop for throughput, open-loop for a rate.

Every request carries a different body, so the system under test sees unique applications;
the 202 answers' references are kept, to be counted against what reached the database.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.httpclient import Client

JSON = {"Content-Type": "application/json"}


@dataclass
class LoadResult:
    """What one run saw: answers by status, latencies of 2xx answers, references accepted."""

    seconds: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    error_latencies_ms: list[float] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    timeouts: int = 0
    errors: int = 0
    first_503_ms: float | None = None  # when the first 503 came, from the start of the run
    first_503_answer_ms: float | None = None  # how long that first refused request took
    server_cpu_ms: float | None = None  # the server's CPU time per 2xx answer, if measured
    # With `trace=True` (open loop): one (tag, due, sent, answered, status) per request, in
    # wall-clock seconds (to line up with HAProxy's log); the tag goes out as X-Bench-Id.
    trace: list[tuple[str, float, float, float, int]] | None = None

    @property
    def ok(self) -> int:
        """Answers in the 2xx range."""
        return sum(count for status, count in self.statuses.items() if 200 <= status < 300)

    @property
    def throughput(self) -> float:
        """2xx answers per second."""
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, p: float, values: list[float] | None = None) -> float:
        """The p-th percentile (0–100) of 2xx latencies in milliseconds."""
        data = sorted(self.latencies_ms if values is None else values)
        if not data:
            return float("nan")
        return data[min(len(data) - 1, int(round(p / 100 * (len(data) - 1))))]


def bodies_from(path: Path, limit: int | None = None) -> list[bytes]:
    """Request bodies, one per line of a JSON-lines file (the demo city's applications)."""
    with open(path, encoding="utf-8") as handle:
        lines = itertools.islice(handle, limit)
        return [line.strip().encode() for line in lines if line.strip()]


async def _send(
    client: Client,
    url: str,
    body: bytes,
    result: LoadResult,
    started: float,
    due: float | None = None,
) -> None:
    begin = time.perf_counter()
    # An empty body is a GET (a page or a look-up); anything else is a JSON POST.
    method, headers = ("POST", dict(JSON)) if body else ("GET", {})
    tag = ""
    if result.trace is not None:
        tag = f"{id(result):x}-{time.perf_counter_ns()}"
        headers["X-Bench-Id"] = tag
        sent = time.time()
    try:
        status, payload = await client.request(method, url, body, headers)
    except TimeoutError:
        result.timeouts += 1
        return
    except OSError:
        result.errors += 1
        return
    elapsed = (time.perf_counter() - begin) * 1000
    result.statuses[status] += 1
    if result.trace is not None:
        wall = sent - (begin - due) if due is not None else sent
        result.trace.append((tag, wall, sent, time.time(), status))
    if 200 <= status < 300:
        result.latencies_ms.append(elapsed)
        reference = _reference(payload)
        if reference:
            result.references.append(reference)
    else:
        result.error_latencies_ms.append(elapsed)
        if status == 503 and result.first_503_ms is None:
            result.first_503_ms = (time.perf_counter() - started) * 1000
            result.first_503_answer_ms = elapsed


def _reference(payload: bytes) -> str | None:
    try:
        value = json.loads(payload).get("reference")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


async def closed_loop(
    url: str,
    bodies: Iterable[bytes],
    *,
    concurrency: int,
    duration: float,
    timeout: float = 10.0,
    headers: dict[str, str] | None = None,
) -> LoadResult:
    """`concurrency` clients, each sending its next request as soon as the last answered."""
    result = LoadResult()
    source: Iterator[bytes] = iter(bodies)
    started = time.perf_counter()
    deadline = started + duration

    async def one_client(client: Client) -> None:
        while time.perf_counter() < deadline:
            body = next(source, None)
            if body is None:
                return
            await _send(client, url, body, result, started)

    client = Client(concurrency, timeout, headers or {})
    try:
        await asyncio.gather(*(one_client(client) for _ in range(concurrency)))
    finally:
        client.close()
    result.seconds = time.perf_counter() - started
    return result


async def open_loop(
    url: str,
    bodies: Iterable[bytes],
    *,
    rate: float,
    duration: float,
    timeout: float = 10.0,
    connections: int = 2000,
    headers: dict[str, str] | None = None,
    trace: bool = False,
) -> LoadResult:
    """Requests at a fixed `rate` per second whatever the answers do (as a crowd arrives)."""
    result = LoadResult(trace=[] if trace else None)
    source = iter(bodies)
    started = time.perf_counter()
    tasks: list[asyncio.Task[None]] = []
    client = Client(connections, timeout, headers or {})
    try:
        for n in itertools.count():
            due = started + n / rate
            if due - started >= duration:
                break
            body = next(source, None)
            if body is None:
                break
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sending = _send(client, url, body, result, started, due)
            tasks.append(asyncio.create_task(sending))
        await asyncio.gather(*tasks)
    finally:
        client.close()
    result.seconds = time.perf_counter() - started
    return result


AUTOGROUP = Path("/proc/self/autogroup")


@contextmanager
def ahead(nice: int) -> Iterator[bool]:
    """This process (the load generator) at niceness `nice` (negative: ahead of the system it
    measures, as clients on machines of their own), and its session's scheduling group too
    (with autogroup scheduling that is what counts against the other sessions: every process
    `Processes` starts has its own); restored afterwards. Yields whether it could (a negative
    niceness needs root or CAP_SYS_NICE)."""
    before = os.getpriority(os.PRIO_PROCESS, 0)
    group = AUTOGROUP.read_text().split()[-1] if AUTOGROUP.exists() else None
    try:
        os.setpriority(os.PRIO_PROCESS, 0, nice)
        if group is not None:
            AUTOGROUP.write_text(str(nice))
    except PermissionError:
        yield False
        return
    try:
        yield True
    finally:
        os.setpriority(os.PRIO_PROCESS, 0, before)
        if group is not None:
            AUTOGROUP.write_text(group)


def run(coroutine: Any) -> LoadResult:
    """Run one load coroutine to completion."""
    return asyncio.run(coroutine)  # type: ignore[no-any-return]
