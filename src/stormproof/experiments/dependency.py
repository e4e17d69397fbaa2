"""A simulated downstream dependency: a real HTTP server on loopback that an experiment
switches down, slows or throttles (``target: dependency:NAME``).

It serves experiments about the *app's* resilience to a failing dependency (a breaker,
retries with or without jitter) without the chaos package: the handler calls it over real
HTTP, and the fault is applied by the server, so the client sees what it would see from a
real outage. Every fault expires on its own at its end, as the chaos contract's do.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

from stormproof.engine.http_sender import HttpFailure, HttpSender

MAX_HANG = 30.0  # a "timeout" fault holds the request at most this long


class _Server(ThreadingHTTPServer):
    # The default listen backlog (5) drops the SYNs of a burst of callers, whose kernels
    # retry them a second later: that delay would be the server's, not the experiment's.
    request_queue_size = 1024
    daemon_threads = True


class DependencyError(Exception):
    """The dependency answered with an error status or not at all."""

    def __init__(self, name: str, detail: str) -> None:
        super().__init__(f"dependency {name}: {detail}")
        self.detail = detail


@dataclass
class ActiveFault:
    """A fault acting on the dependency from ``starts`` to ``ends`` (monotonic seconds)."""

    id: str
    action: str
    starts: float
    ends: float
    status: int = 503
    latency: float = 0.0
    probability: float = 1.0
    rate: float = 10.0
    rng: random.Random = field(default_factory=random.Random)
    tokens: float = 0.0
    refilled: float = 0.0


class Dependency:
    """A named loopback HTTP dependency; :meth:`call` is what handlers use."""

    registry: ClassVar[dict[str, Dependency]] = {}

    def __init__(self, name: str) -> None:
        self.name = name
        self.arrivals: list[float] = []  # wall-clock time of every request it received
        self.retries: list[float] = []  # ... of those the caller marked as a retry
        self.faults: list[ActiveFault] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._client: HttpSender | None = None
        Dependency.registry[name] = self

    @property
    def url(self) -> str:
        """Where it listens (it starts on first use)."""
        server = self.start()
        return f"http://127.0.0.1:{server.server_address[1]}/"

    def start(self) -> ThreadingHTTPServer:
        """Listen on a free loopback port in a daemon thread (once)."""
        with self._lock:
            if self._server is None:
                self._server = _Server(("127.0.0.1", 0), _handler_for(self))
                threading.Thread(target=self._server.serve_forever, daemon=True).start()
            return self._server

    def stop(self) -> None:
        """Stop listening."""
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    async def call(self, timeout: float = 5.0, *, retry: bool = False) -> None:
        """One request (``retry``: the caller's second or later try, counted apart); raises
        :class:`DependencyError` unless it answers 2xx."""
        url = self.url + ("retry" if retry else "")
        if self._client is None:
            self._client = HttpSender()
        try:
            status = await self._client.request("GET", url, {}, b"", timeout)
        except HttpFailure as exc:
            raise DependencyError(self.name, str(exc)) from None
        if status >= 300:
            raise DependencyError(self.name, f"HTTP {status}")

    async def close(self) -> None:
        """Close the client's pooled connections (they belong to the caller's event loop)."""
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    def inject(self, fault_id: str, fault: dict[str, Any]) -> None:
        """Start acting out ``fault`` (the chaos contract's dict form)."""
        now = time.monotonic()
        starts = now + float(fault.get("start_after", 0.0))
        latency = fault.get("latency") or 0.0
        active = ActiveFault(
            id=fault_id,
            action=str(fault["action"]),
            starts=starts,
            ends=starts + float(fault["duration"]),
            status=int(fault.get("status") or 503),
            latency=float(latency) if isinstance(latency, int | float) else 1.0,
            probability=float(fault.get("probability", 1.0)),
            rate=float(fault.get("rate", 10.0)),
            rng=random.Random(fault.get("seed")),
            refilled=starts,
        )
        with self._lock:
            self.faults.append(active)

    def remove(self, fault_id: str | None) -> None:
        """Stop one fault, or every fault (None)."""
        with self._lock:
            self.faults = [f for f in self.faults if fault_id is not None and f.id != fault_id]

    def decide(self, retry: bool = False) -> tuple[str, int, float]:
        """What to do with a request arriving now: (action, status, delay)."""
        now = time.monotonic()
        with self._lock:
            self.arrivals.append(time.time())
            if retry:
                self.retries.append(self.arrivals[-1])
            self.faults = [f for f in self.faults if f.ends > now]  # expired on their own
            for f in self.faults:
                if f.starts <= now and f.rng.random() < f.probability:
                    return _act(f, now)
        return "ok", 200, 0.0


def _act(f: ActiveFault, now: float) -> tuple[str, int, float]:
    if f.action == "throttle":
        # A token bucket holding a tenth of a second's worth: beyond ``rate`` per second, and
        # beyond a burst of ``rate / 10``, it answers 429.
        f.tokens = min(max(1.0, f.rate / 10), f.tokens + (now - f.refilled) * f.rate)
        f.refilled = now
        if f.tokens >= 1.0:
            f.tokens -= 1.0
            return "ok", 200, 0.0
        return "error", 429, 0.0
    if f.action == "latency":
        return "ok", 200, f.latency
    if f.action == "timeout":
        return "ok", 200, min(MAX_HANG, f.ends - now)
    if f.action == "drop":
        return "drop", 0, 0.0
    return "error", f.status, 0.0


def _handler_for(dep: Dependency) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            action, status, delay = dep.decide(retry=self.path == "/retry")
            if delay:
                time.sleep(delay)
            if action == "drop":
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(2)
                return
            body = b"ok" if status == 200 else b"injected"
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # a request line per call would drown the experiment's own output

    return Handler
