"""A TCP proxy to PostgreSQL that loses a COMMIT's reply: the server commits, the client
never hears back (the connection drops right after the COMMIT is forwarded).

Armed with a marker (bytes of a statement), it drops the first connection that sent the
marker and then a ``COMMIT``; every other connection is relayed untouched. Threads and
blocking sockets, so it is independent of the test's event loop.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

# psycopg ends a transaction block with a simple Query message: 'Q', length 11, "COMMIT\0".
COMMIT_MESSAGE = b"Q\x00\x00\x00\x0bCOMMIT\x00"
_CHUNK = 65536


class CommitProxy:
    """Relays loopback connections to ``upstream``; see the module docstring."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.marker: bytes | None = None
        self.drops = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def arm(self, marker: bytes) -> None:
        """Drop the next connection that sends ``marker`` and then a COMMIT."""
        with self._lock:
            self.marker = marker

    def close(self) -> None:
        """Stop accepting connections."""
        self._closed.set()
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            _Link(self, client, server).start()

    def _take(self, seen_marker: bool, data: bytes) -> tuple[bool, bool]:
        """(marker seen on this link so far, drop now) after ``data`` went upstream."""
        with self._lock:
            if self.marker is None:
                return False, False
            seen = seen_marker or self.marker in data
            if seen and COMMIT_MESSAGE in data:
                self.marker = None
                self.drops += 1
                return False, True
            return seen, False


class _Link:
    """One client connection and its upstream connection."""

    def __init__(self, proxy: CommitProxy, client: socket.socket, server: socket.socket):
        self.proxy = proxy
        self.client = client
        self.server = server
        self.dropped = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._upstream, daemon=True).start()
        threading.Thread(target=self._downstream, daemon=True).start()

    def _upstream(self) -> None:
        seen = False
        try:
            while data := self.client.recv(_CHUNK):
                seen, drop = self.proxy._take(seen, data)
                if drop:
                    self.dropped.set()  # before forwarding: the reply must never reach back
                self.server.sendall(data)
                if drop:
                    self._close(self.client)
                    return
        except OSError:
            pass
        self._close(self.client)
        self._close(self.server)

    def _downstream(self) -> None:
        try:
            while data := self.server.recv(_CHUNK):
                if self.dropped.is_set():
                    break  # the COMMIT's reply arrived (the server committed): swallow it
                self.client.sendall(data)
        except OSError:
            pass
        self._close(self.client)
        self._close(self.server)

    @staticmethod
    def _close(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()


@contextmanager
def commit_proxy(url: str) -> Iterator[tuple[CommitProxy, str]]:
    """A proxy in front of the PostgreSQL server of ``url``, and ``url`` through it."""
    parts = urlsplit(url)
    proxy = CommitProxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    user = f"{parts.username}@" if parts.username else ""
    via = urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{proxy.port}"))
    try:
        yield proxy, via
    finally:
        proxy.close()
