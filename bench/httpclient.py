"""A lean HTTP/1.1 keep-alive client on asyncio's protocols, for the load generator.

The generator shares this machine's two cores with the system it measures, so what it spends
per request is taken from the system. aiohttp spent about 1.5 ms of CPU per request (its
session, tracing and cookie layers; a new connection after each `Connection: close`); at
twice P1's rate that was most of a core. This client does only what a load run needs: one
request per connection at a time, the body read by `Content-Length` or chunks, keep-alive
unless the server closes, and a fresh connection (tried once more) when a reused one turns
out to have been closed by the server before it answered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from functools import lru_cache
from urllib.parse import urlsplit

HEAD_END = b"\r\n\r\n"


class ServerClosed(ConnectionError):
    """The connection closed before a whole answer came."""


class _Connection(asyncio.Protocol):
    """One TCP connection; `exchange` sends a request and waits for its whole answer."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.answer: asyncio.Future[tuple[int, bytes, bool]] | None = None
        self.closed = False
        self.received = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.received = True
        self.buffer += data
        self._answer_if_whole()

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.answer is not None and not self.answer.done():
            self._answer_if_whole(at_end=True)
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(ServerClosed("closed before a whole answer"))

    async def exchange(self, request: bytes) -> tuple[int, bytes, bool]:
        """Send `request`; return (status, body, whether the connection may be reused)."""
        assert self.transport is not None
        self.answer = asyncio.get_running_loop().create_future()
        self.received = False
        self.transport.write(request)
        return await self.answer

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def _answer_if_whole(self, at_end: bool = False) -> None:
        end = self.buffer.find(HEAD_END)
        if end < 0 or self.answer is None or self.answer.done():
            return
        head = bytes(self.buffer[:end]).lower()
        start = end + len(HEAD_END)
        body = _body(head, self.buffer, start, at_end)
        if body is None:
            return
        content, used = body
        del self.buffer[:used]
        status = int(head[9:12])
        reusable = b"\r\nconnection: close" not in head and not self.closed
        self.answer.set_result((status, content, reusable))


def _body(head: bytes, buffer: bytearray, start: int, at_end: bool) -> tuple[bytes, int] | None:
    """The answer's body and where it ends in `buffer`, or None until it has all come."""
    marker = head.find(b"\r\ncontent-length:")
    if marker >= 0:
        line_end = head.find(b"\r\n", marker + 2)
        length = int(head[marker + 17 : line_end if line_end >= 0 else None])
        if len(buffer) < start + length:
            return None
        return bytes(buffer[start : start + length]), start + length
    if b"\r\ntransfer-encoding: chunked" in head:
        return _chunks(buffer, start)
    if at_end:  # neither: the body runs to the end of the connection
        return bytes(buffer[start:]), len(buffer)
    return None


def _chunks(buffer: bytearray, position: int) -> tuple[bytes, int] | None:
    parts = []
    while True:
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            return None
        size = int(bytes(buffer[position:line_end]).split(b";")[0], 16)
        chunk_start = line_end + 2
        if len(buffer) < chunk_start + size + 2:
            return None
        if size == 0:
            trailer_end = buffer.find(HEAD_END, line_end)
            if buffer[chunk_start : chunk_start + 2] == b"\r\n":
                return b"".join(parts), chunk_start + 2
            if trailer_end < 0:
                return None
            return b"".join(parts), trailer_end + len(HEAD_END)
        parts.append(bytes(buffer[chunk_start : chunk_start + size]))
        position = chunk_start + size + 2


@lru_cache(maxsize=64)
def _target(url: str) -> tuple[str, int, str]:
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.hostname or "127.0.0.1", parts.port or 80, path


class Client:
    """At most `connections` connections to one or more URLs' hosts, kept alive and reused."""

    def __init__(self, connections: int, timeout: float, headers: Mapping[str, str]) -> None:
        self.timeout = timeout
        self.headers = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self._slots = asyncio.Semaphore(connections)
        self._idle: dict[tuple[str, int], list[_Connection]] = {}

    async def request(
        self, method: str, url: str, body: bytes = b"", headers: Mapping[str, str] | None = None
    ) -> tuple[int, bytes]:
        """Send one request; returns (status, body). Raises TimeoutError after `timeout`
        seconds, ConnectionError (`OSError`) if it could not be sent or answered."""
        host, port, path = _target(url)
        extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        length = f"Content-Length: {len(body)}\r\n" if body or method == "POST" else ""
        start = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{self.headers}{extra}"
        request = (start + length + "\r\n").encode("latin-1") + body
        async with asyncio.timeout(self.timeout):  # waiting for a connection counts too
            async with self._slots:
                return await self._exchange((host, port), request)

    async def _exchange(self, address: tuple[str, int], request: bytes) -> tuple[int, bytes]:
        idle = self._idle.setdefault(address, [])
        while idle:
            connection = idle.pop()
            if connection.closed:
                continue
            try:
                return await self._use(connection, idle, request)
            except ServerClosed:
                if connection.received:
                    raise  # it had begun to answer: not a stale connection
                # else: closed while idle, as servers do; try a fresh one
        loop = asyncio.get_running_loop()
        _, fresh = await loop.create_connection(_Connection, *address)
        return await self._use(fresh, idle, request)

    async def _use(
        self, connection: _Connection, idle: list[_Connection], request: bytes
    ) -> tuple[int, bytes]:
        try:
            status, body, reusable = await connection.exchange(request)
        except BaseException:
            connection.close()
            raise
        if reusable:
            idle.append(connection)
        else:
            connection.close()
        return status, body

    def close(self) -> None:
        """Close every idle connection."""
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()
