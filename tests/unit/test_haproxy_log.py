"""bench.haproxy_log: each 503 split by HAProxy's own log line against the client's times."""

from __future__ import annotations

from pathlib import Path

from bench.haproxy_log import Split, read_lines
from bench.loadgen import LoadResult

# docker/haproxy/haproxy.cfg's log-format: id, accept, Th Ti TR Tw Tc Tr Ta Tt, status, state,
# connections, queue positions, server.
LOG = """\
[WARNING]  (1) : Server gateways/gateway-1 is UP
a 1000.000 0 5 0 -1 -1 -1 0 5 503 LR 1/1/0/0/0 0/0 <NOSRV>
b 1000.100 0 1 0 20 -1 -1 20 21 503 sQ 1/1/0/0/0 0/1 <NOSRV>
c 1000.200 0 0 0 0 1 40 41 41 202 -- 1/1/1/1/0 0/0 gateway-1
- 1000.300 0 0 0 0 0 1 1 1 200 -- 1/1/1/1/0 0/0 gateway-2
"""


def test_each_refusal_splits_into_before_inside_and_after(tmp_path: Path) -> None:
    log = tmp_path / "haproxy.log"
    log.write_text(LOG)
    lines = read_lines(log)
    assert sorted(lines) == ["a", "b", "c"]  # no id ("-") and HAProxy's own messages skipped
    result = LoadResult(
        trace=[
            # tag, due, sent, answered, status (wall-clock seconds)
            ("a", 999.990, 999.998, 1000.009, 503),
            ("b", 1000.099, 1000.100, 1000.130, 503),
            ("c", 1000.200, 1000.200, 1000.245, 202),
            ("lost", 1000.300, 1000.300, 1000.301, 503),
        ]
    )
    split = Split.of(result, lines)
    assert [round(ms) for ms in split.client] == [11, 30, 1]
    # a: HAProxy saw its first byte 5 ms after the accept, 7 ms after the client sent it.
    assert [round(ms) for ms in split.before] == [7, 1]
    assert [round(ms) for ms in split.inside] == [0, 20]
    assert [round(ms) for ms in split.after] == [4, 9]
    assert split.sources == {"door": 1, "queue timeout": 1}
    assert split.unmatched == 1
    assert [round(ms) for ms in split.late] == [8, 1, 0, 0]
    assert "door 1" in split.summary() and "1 without a log line" in split.summary()
