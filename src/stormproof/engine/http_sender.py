"""stormproof's one outgoing HTTP client, on httpx's transport, httpcore
(``pip install 'stormproof[server]'``): the bus's HTTP targets, alarm webhooks
(``telemetry.alarm_targets``) and the chaos experiments' dependency probes and route load.

Each idle connection (an ``httpcore.AsyncHTTPConnection``) is kept per origin (at most
``MAX_IDLE_PER_HOST``) and handed to one request at a time; the number of concurrent
requests is already bounded by the callers (the bus manager, an experiment's workers).
Why not one pooled ``httpx.AsyncClient``: measured on loopback
(tests/support/http_bench.py), httpcore's pool (1.0) hands one idle connection to several
waiting requests (all but one retry), re-scans every connection per request and closes
idle ones whenever more than ``max_keepalive_connections`` are *open*: 500 POSTs over 64
tasks took 5-10 s, some waiting seconds for a connection. Without the pool and the httpx
layer above it, a request costs about a quarter of the CPU.
"""

from __future__ import annotations

import asyncio
import importlib.util
import ssl
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from stormproof.errors import InvalidAttribute

if TYPE_CHECKING:
    import httpcore

MAX_IDLE_PER_HOST = 32
MAX_BODY_BYTES = 1024 * 1024  # responses are drained, not kept; beyond this we hang up


class HttpFailure(Exception):
    """No HTTP answer: refused, reset, timed out or malformed."""


def require_httpx(field: str = "http_target") -> None:
    """Refuse outgoing HTTP (an HTTP target, a webhook URL) in an install without httpx,
    naming ``field``, when it is declared."""
    if importlib.util.find_spec("httpcore") is None:
        raise InvalidAttribute(field, "httpx", "httpx installed: pip install 'stormproof[server]'")


def _preload() -> None:
    """Import httpcore and the anyio backend it connects with now (~70 ms), not on the
    first request: a caller that took a rate limit's token must not see its first
    request land that much later than the token allowed (tests/acceptance/
    test_limit_rate.py measures at the receiver)."""
    try:  # a warm-up only: modules moved in another version must not stop the sender
        import anyio._backends._asyncio  # noqa: F401  (httpcore's AutoBackend loads it lazily)
        import httpcore._backends.anyio  # noqa: F401
    except ImportError:
        pass


class HttpSender:
    """Keep-alive HTTP/1.1 requests; ``request`` returns the response status."""

    def __init__(self) -> None:
        if importlib.util.find_spec("httpcore") is not None:
            _preload()
        self._idle: dict[tuple[str, str, int], list[httpcore.AsyncHTTPConnection]] = {}
        self._tls: ssl.SSLContext | None = None

    async def _checkout(
        self, key: tuple[str, str, int]
    ) -> tuple[httpcore.AsyncHTTPConnection, bool]:
        """An idle connection to the origin (and True), or a new one (and False)."""
        import httpcore

        pool = self._idle.get(key)
        while pool:
            conn = pool.pop()
            if not conn.has_expired():
                return conn, True
            await conn.aclose()  # the server closed it while idle
        scheme, host, port = key
        if scheme == "https":  # one context: building one loads the CA bundle
            self._tls = self._tls or ssl.create_default_context()
        origin = httpcore.Origin(scheme.encode(), host.encode(), port)
        return httpcore.AsyncHTTPConnection(origin, ssl_context=self._tls), False

    async def _checkin(self, key: tuple[str, str, int], conn: httpcore.AsyncHTTPConnection) -> None:
        pool = self._idle.setdefault(key, [])
        if conn.is_idle() and len(pool) < MAX_IDLE_PER_HOST:
            pool.append(conn)
        else:
            await conn.aclose()

    async def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes, timeout: float
    ) -> int:
        """Send one request and return its status; raise ``HttpFailure`` without an answer.

        ``timeout`` bounds the whole exchange. A request that fails on a *reused*
        connection is tried once more on a fresh one: the server may have closed it just
        as we picked it.
        """
        parts = urlsplit(url)
        scheme = parts.scheme
        key = (scheme, parts.hostname or "", parts.port or (443 if scheme == "https" else 80))
        fields = [(b"host", parts.netloc.encode()), (b"content-length", str(len(body)).encode())]
        fields += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        try:
            async with asyncio.timeout(timeout):
                return await self._exchange(key, method, url, fields, body)
        except TimeoutError:
            raise HttpFailure(f"no answer within {timeout:g} s") from None

    async def _exchange(
        self,
        key: tuple[str, str, int],
        method: str,
        url: str,
        fields: list[tuple[bytes, bytes]],
        body: bytes,
    ) -> int:
        import httpcore

        for _ in range(2):
            conn, reused = await self._checkout(key)
            try:
                status = await _send(conn, method, url, fields, body)
            except (httpcore.NetworkError, httpcore.ProtocolError) as exc:
                await conn.aclose()
                if reused:
                    continue  # a stale kept-alive connection: try a fresh one once
                raise HttpFailure(f"{type(exc).__name__}: {exc}") from exc
            except BaseException:
                await asyncio.shield(conn.aclose())
                raise
            await self._checkin(key, conn)
            return status
        raise HttpFailure("the connection was closed before an answer")

    async def close(self) -> None:
        """Close every idle connection."""
        idle, self._idle = self._idle, {}
        for pool in idle.values():
            for conn in pool:
                await conn.aclose()


async def _send(
    conn: httpcore.AsyncHTTPConnection,
    method: str,
    url: str,
    fields: list[tuple[bytes, bytes]],
    body: bytes,
) -> int:
    """One request; the answer's body is read (so the connection can be reused) up to a bound."""
    async with conn.stream(method, url, headers=fields, content=body) as response:
        total = 0
        async for chunk in response.aiter_stream():
            total += len(chunk)
            if total > MAX_BODY_BYTES:
                break  # leaving unread: httpcore closes the connection, not reused
        return response.status
