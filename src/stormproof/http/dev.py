"""``stormproof dev``: the front door, the dashboard and every consumer in one process.

One event loop runs uvicorn (front door, ``/ui/``, ``/metrics``) and a :class:`Worker`
(event-source mappings, async invocations, state-machine steps and timers, bus
deliveries), so a developer gets the whole system from one command on the embedded
SQLite store. Production runs ``stormproof serve`` and ``stormproof worker`` apart.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from stormproof.app import App
from stormproof.http.server import build
from stormproof.worker import DEFAULT_CONCURRENCY, Worker

#: How long uvicorn lets open event streams (dashboard tabs, SSE clients) finish on Ctrl-C.
GRACEFUL_SHUTDOWN = 2.0


@dataclass(frozen=True)
class DevServer:
    """Where ``stormproof dev`` listens and how much it runs at once."""

    host: str = "127.0.0.1"
    port: int = 8000
    concurrency: int = DEFAULT_CONCURRENCY

    @property
    def base_url(self) -> str:
        """The front door's URL (IPv6 hosts bracketed)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def route_lines(app: App) -> list[str]:
    """One line per route of ``app.api``: method, path and what it reaches."""
    api = app.api
    lines = [
        f"POST {path} -> {route.kind} {route.target.name}" for path, route in api.posts.items()
    ]
    lines += [f"GET  {path} -> handler {_handler_name(r.handler)}" for path, r in api.gets.items()]
    return lines


def _handler_name(handler: object) -> str:
    return str(getattr(handler, "__qualname__", None) or type(handler).__name__)


async def run_dev(app: App, server: DevServer) -> None:
    """Serve and consume until uvicorn exits (SIGINT or SIGTERM), then drain the worker."""
    import uvicorn

    config = uvicorn.Config(
        build(app),
        host=server.host,
        port=server.port,
        log_level="warning",
        timeout_graceful_shutdown=int(GRACEFUL_SHUTDOWN),
    )
    http = uvicorn.Server(config)
    serving = asyncio.create_task(http.serve(), name="stormproof-dev-http")
    while not http.started:  # the lifespan opens the app; the worker then shares it
        if serving.done():
            await serving  # startup failed (port in use, app error): raise it here
            return
        await asyncio.sleep(0.02)
    worker = Worker(app, concurrency=server.concurrency)
    consuming = asyncio.create_task(worker.run(), name="stormproof-dev-worker")
    try:
        await asyncio.wait({serving, consuming}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        worker.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await consuming  # releases in-flight work before the lifespan closes the app
        http.should_exit = True
        await serving
