"""HAProxy's request log against what the client measured: where each answer's time went.

With `HAPROXY_LOG` set, docker/haproxy/haproxy.cfg logs one line per request with the
client's X-Bench-Id; `bench.loadgen.open_loop(..., trace=True)` sends that id and keeps, per
request, when it was due, sent and answered. Each answer then splits into: before HAProxy
began to read the request (connecting, the kernel's accept queue, HAProxy's accept, and the
client writing it: %Ti is the time from the accept to its first byte), inside HAProxy (reading
it, the queue, the gateway), and after HAProxy logged it (the way back, the client reading).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.loadgen import LoadResult


@dataclass
class Line:
    """HAProxy's line for one request (the `log-format` of docker/haproxy/haproxy.cfg)."""

    accept: float  # epoch seconds: the connection's accept (or the previous request's end)
    idle_ms: int  # %Th + %Ti: from the accept to the request's first byte
    queue_ms: int  # %Tw: waiting for a slot (-1: never queued)
    server_ms: int  # %Tr: the gateway's answer (-1: never reached one)
    total_ms: int  # %Tt: from the accept to the end
    status: int
    state: str  # %ts: termination state (LR: HAProxy's own answer, sQ: queue timeout, ...)

    @classmethod
    def parse(cls, fields: list[str]) -> Line:
        """From the fields after the X-Bench-Id."""
        accept, th, ti, _tr, tw, _tc, tsrv, _ta, tt, status, state = fields[:11]
        idle = max(int(th), 0) + max(int(ti), 0)
        return cls(float(accept), idle, int(tw), int(tsrv), int(tt), int(status), state)

    @property
    def source(self) -> str:
        """Who answered: HAProxy at the door, HAProxy after the queue, or a gateway."""
        if self.server_ms >= 0:
            return "gateway"
        return "queue timeout" if self.state.startswith("sQ") else "door"


def read_lines(log: Path) -> dict[str, Line]:
    """HAProxy's request lines by X-Bench-Id (other lines are skipped)."""
    lines = {}
    for text in log.read_text(errors="replace").splitlines():
        fields = text.split()
        if len(fields) >= 12 and fields[0] != "-" and fields[1].replace(".", "").isdigit():
            lines[fields[0]] = Line.parse(fields[1:])
    return lines


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank), nan if empty."""
    data = sorted(values)
    return data[min(len(data) - 1, int(round(p / 100 * (len(data) - 1))))] if data else float("nan")


@dataclass
class Split:
    """Where the time of the answers with one status went, in ms."""

    client: list[float] = field(default_factory=list)  # sent to answered, as measured
    late: list[float] = field(default_factory=list)  # the generator sent it after its due time
    before: list[float] = field(default_factory=list)
    inside: list[float] = field(default_factory=list)
    after: list[float] = field(default_factory=list)
    sources: Counter[str] = field(default_factory=Counter)
    slowest: Counter[str] = field(default_factory=Counter)  # sources of the slowest 1 %
    unmatched: int = 0

    @classmethod
    def of(cls, result: LoadResult, lines: dict[str, Line], status: int = 503) -> Split:
        """The answers of one traced run with `status`."""
        split = cls()
        trace = [t for t in result.trace or [] if t[4] == status]
        split.late = [(sent - due) * 1000 for _, due, sent, _, _ in result.trace or []]
        split.client = [(answered - sent) * 1000 for _, _, sent, answered, _ in trace]
        threshold = pct(split.client, 99)
        for tag, _due, sent, answered, _status in trace:
            line = lines.get(tag)
            if line is None:
                split.unmatched += 1
                continue
            start = line.accept + line.idle_ms / 1000
            end = line.accept + max(line.total_ms, 0) / 1000
            split.before.append((start - sent) * 1000)
            split.inside.append((end - start) * 1000)
            split.after.append((answered - end) * 1000)
            split.sources[line.source] += 1
            if (answered - sent) * 1000 >= threshold:
                split.slowest[line.source] += 1
        return split

    def rows(self) -> list[list[str]]:
        """Table rows: phase, p50, p99, max."""

        def row(name: str, values: list[float]) -> list[str]:
            if not values:
                return [name, "-", "-", "-"]
            return [
                name,
                *(f"{v:,.0f} ms" for v in (pct(values, 50), pct(values, 99), max(values))),
            ]

        return [
            row("the generator sent it after its due time (every request)", self.late),
            row("503 as the client measured it (sent to answered)", self.client),
            row("… before HAProxy began to read it (connect, accept, client's write)", self.before),
            row("… inside HAProxy (reading it, the queue, a gateway)", self.inside),
            row("… after HAProxy logged it (the way back, client's read)", self.after),
        ]

    def summary(self) -> str:
        """Who answered the 503s, and the slowest 1 % of them."""
        text = ", ".join(f"{source} {n:,}" for source, n in self.sources.most_common())
        slow = ", ".join(f"{source} {n:,}" for source, n in self.slowest.most_common())
        missing = f"; {self.unmatched} without a log line" if self.unmatched else ""
        return f"503s by who answered: {text}; the slowest 1 %: {slow}{missing}"
