"""A small HTTP/1.1 client on asyncio streams, for HTTP targets of the event bus.

stormproof has no HTTP client dependency, and a delivery needs little: send one request
with a body, read the status, drain the response. Connections are kept alive and reused
per (scheme, host, port), so a burst of deliveries to one endpoint does not open (and
leave in TIME_WAIT) one socket per event. A request that fails on a *reused* connection
before any answer arrived is tried once more on a fresh one: the server may have closed
an idle connection just as we picked it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_IDLE_PER_HOST = 32
MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 1024 * 1024  # responses are drained, not kept; beyond this we hang up


class HttpFailure(Exception):
    """No HTTP answer: refused, reset, timed out or malformed."""


@dataclass(frozen=True)
class _Origin:
    scheme: str
    host: str
    port: int


@dataclass
class _Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    reused: bool = False


class HttpClient:
    """Keep-alive HTTP/1.1 requests; ``request`` returns the response status."""

    def __init__(self) -> None:
        self._idle: dict[_Origin, list[_Conn]] = {}
        self._ssl: ssl.SSLContext | None = None

    async def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes, timeout: float
    ) -> int:
        """Send one request and return its status; raise ``HttpFailure`` without an answer."""
        parts = urlsplit(url)
        origin = _Origin(
            parts.scheme,
            parts.hostname or "",
            parts.port or (443 if parts.scheme == "https" else 80),
        )
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        head = _head(method, target, parts.netloc, headers, len(body))
        try:
            async with asyncio.timeout(timeout):
                return await self._exchange(origin, head + body)
        except TimeoutError:
            raise HttpFailure(f"no answer within {timeout:g} s") from None

    async def _exchange(self, origin: _Origin, data: bytes) -> int:
        for _ in range(2):
            conn = await self._connect(origin)
            try:
                conn.writer.write(data)
                await conn.writer.drain()
                status, keep = await _read_response(conn.reader)
            except (OSError, HttpFailure, asyncio.IncompleteReadError) as exc:
                _close(conn)
                if conn.reused:
                    continue  # a stale pooled connection: try a fresh one once
                raise HttpFailure(f"{type(exc).__name__}: {exc}") from exc
            except BaseException:
                _close(conn)
                raise
            self._release(origin, conn, keep)
            return status
        raise HttpFailure("the connection was closed before an answer")

    async def _connect(self, origin: _Origin) -> _Conn:
        pool = self._idle.get(origin)
        while pool:
            conn = pool.pop()
            if not conn.reader.at_eof():
                conn.reused = True
                return conn
            _close(conn)
        context = None
        if origin.scheme == "https":
            self._ssl = self._ssl or ssl.create_default_context()
            context = self._ssl
        try:
            reader, writer = await asyncio.open_connection(origin.host, origin.port, ssl=context)
        except OSError as exc:
            raise HttpFailure(f"cannot connect to {origin.host}:{origin.port}: {exc}") from exc
        return _Conn(reader, writer)

    def _release(self, origin: _Origin, conn: _Conn, keep: bool) -> None:
        pool = self._idle.setdefault(origin, [])
        if keep and len(pool) < MAX_IDLE_PER_HOST:
            conn.reused = False
            pool.append(conn)
        else:
            _close(conn)

    async def close(self) -> None:
        """Close every idle connection."""
        idle, self._idle = self._idle, {}
        for pool in idle.values():
            for conn in pool:
                _close(conn)
                with contextlib.suppress(Exception):
                    await conn.writer.wait_closed()


def _head(method: str, target: str, host: str, headers: Mapping[str, str], length: int) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", f"Content-Length: {length}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response; returns its status and whether the connection may be reused."""
    raw = await reader.readuntil(b"\r\n\r\n")
    if len(raw) > MAX_HEADER_BYTES:
        raise HttpFailure("response headers too large")
    lines = raw.decode("latin-1").split("\r\n")
    try:
        version, code, *_ = lines[0].split(" ", 2)
        status = int(code)
    except ValueError:
        raise HttpFailure(f"malformed status line {lines[0]!r}") from None
    fields = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            fields[name.strip().lower()] = value.strip()
    keep = version == "HTTP/1.1" and fields.get("connection", "").lower() != "close"
    if 100 <= status < 200 or status in (204, 304):
        return status, keep
    if fields.get("transfer-encoding", "").lower() == "chunked":
        await _drain_chunked(reader)
    elif "content-length" in fields:
        length = int(fields["content-length"])
        if length > MAX_BODY_BYTES:
            return status, False
        await reader.readexactly(length)
    else:
        return status, False  # the body runs to the end of the connection: do not reuse
    return status, keep


async def _drain_chunked(reader: asyncio.StreamReader) -> None:
    total = 0
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
        total += size
        if total > MAX_BODY_BYTES:
            raise HttpFailure("response body too large")
        await reader.readexactly(size + 2)
        if size == 0:
            return


def _close(conn: _Conn) -> None:
    with contextlib.suppress(Exception):
        conn.writer.close()
