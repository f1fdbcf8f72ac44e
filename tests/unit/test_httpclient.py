"""The load generator's HTTP client against a real socket server on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from bench.httpclient import Client
from bench.loadgen import closed_loop, open_loop

Answer = Callable[[bytes], bytes | None]  # request head+body -> raw answer (None: close)


def _server(answer: Answer) -> Callable[[], Awaitable[tuple[asyncio.Server, str, list[int]]]]:
    async def start() -> tuple[asyncio.Server, str, list[int]]:
        connections: list[int] = []

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            connections.append(1)
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    break
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length) if length else b""
                raw = answer(head + body)
                if raw is None:
                    break
                writer.write(raw)
                await writer.drain()
                if b"Connection: close" in raw:
                    break
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        return server, f"http://127.0.0.1:{port}/api/v1/applications?x=1", connections

    return start


def _fixed(status: int, body: bytes, extra: str = "") -> bytes:
    head = f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    return head.encode() + body


def test_keeps_one_connection_alive_and_reads_bodies_by_length() -> None:
    async def scenario() -> None:
        server, url, connections = await _server(lambda _: _fixed(202, b'{"reference": "R1"}'))()
        client = Client(4, 5.0, {"Authorization": "Bearer t"})
        answers = [await client.request("POST", url, b"{}") for _ in range(5)]
        client.close()
        server.close()
        assert answers == [(202, b'{"reference": "R1"}')] * 5
        assert len(connections) == 1

    asyncio.run(scenario())


def test_reads_chunked_bodies_and_sends_the_request_line_headers_and_body() -> None:
    seen: list[bytes] = []

    def chunked(request: bytes) -> bytes:
        seen.append(request)
        head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        return head + b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"

    async def scenario() -> None:
        server, url, _ = await _server(chunked)()
        client = Client(1, 5.0, {"Authorization": "Bearer t"})
        posted = await client.request("POST", url, b'{"a": 1}', {"X-Bench-Id": "7"})
        assert posted == (200, b"abcde")
        assert await client.request("GET", url) == (200, b"abcde")
        client.close()
        server.close()

    asyncio.run(scenario())
    post, get = seen
    assert post.startswith(b"POST /api/v1/applications?x=1 HTTP/1.1\r\n")
    assert b"\r\nAuthorization: Bearer t\r\n" in post and b"\r\nX-Bench-Id: 7\r\n" in post
    assert post.endswith(b'Content-Length: 8\r\n\r\n{"a": 1}')
    assert get.startswith(b"GET /api/v1/applications?x=1 HTTP/1.1\r\n")
    assert b"Content-Length" not in get


def test_a_closing_answer_is_read_and_the_next_request_opens_a_new_connection() -> None:
    async def scenario() -> None:
        answer = _fixed(503, b"busy", "Retry-After: 5\r\nConnection: close\r\n")
        server, url, connections = await _server(lambda _: answer)()
        client = Client(2, 5.0, {})
        answers = [await client.request("POST", url, b"{}") for _ in range(3)]
        client.close()
        server.close()
        assert answers == [(503, b"busy")] * 3
        assert len(connections) == 3

    asyncio.run(scenario())


def test_a_connection_the_server_dropped_while_idle_is_replaced() -> None:
    count = {"n": 0}

    def every_other(_: bytes) -> bytes | None:
        count["n"] += 1
        return _fixed(202, b"ok") if count["n"] % 2 else None  # drop the connection

    async def scenario() -> None:
        server, url, connections = await _server(every_other)()
        client = Client(1, 5.0, {})
        first = await client.request("POST", url, b"{}")
        await asyncio.sleep(0.05)
        second = await client.request("POST", url, b"{}")  # reused one is closed: a fresh one
        client.close()
        server.close()
        assert (first, second) == ((202, b"ok"), (202, b"ok"))
        assert len(connections) == 2

    asyncio.run(scenario())


def test_a_server_that_never_answers_times_out() -> None:
    async def scenario() -> None:
        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await asyncio.sleep(5)

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = Client(1, 0.2, {})
        with pytest.raises(TimeoutError):
            await client.request("GET", f"http://127.0.0.1:{port}/")
        client.close()
        server.close()

    asyncio.run(scenario())


def test_the_loops_count_answers_references_and_503s() -> None:
    def answer(request: bytes) -> bytes:
        if b'"n": 2' in request:
            return _fixed(503, b"{}", "Connection: close\r\n")
        return _fixed(202, b'{"reference": "REF"}')

    async def scenario() -> None:
        server, url, _ = await _server(answer)()
        bodies = [b'{"n": 1}', b'{"n": 2}', b'{"n": 3}']
        closed = await closed_loop(url, bodies, concurrency=2, duration=5)
        opened = await open_loop(url, bodies, rate=100, duration=1, trace=True)
        server.close()
        for result in (closed, opened):
            assert dict(result.statuses) == {202: 2, 503: 1}
            assert result.references == ["REF", "REF"]
            assert result.first_503_ms is not None and result.timeouts == result.errors == 0
        assert opened.trace is not None and len(opened.trace) == 3

    asyncio.run(scenario())
