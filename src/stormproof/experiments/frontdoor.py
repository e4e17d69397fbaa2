"""The app's open store for the run, with its front door served on 127.0.0.1 when the load
sends requests to a route (the front door's lifespan then opens and closes the app)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

from stormproof.app import App

START_TIMEOUT = 30.0


@contextlib.asynccontextmanager
async def opened(app: App, serve: bool) -> AsyncIterator[str | None]:
    """Open ``app`` for the block; with ``serve``, the front door's base URL."""
    if not serve:
        async with app:
            yield None
        return
    import uvicorn

    from stormproof.http.server import build

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # loopback only: experiment load never leaves the machine
    port = sock.getsockname()[1]
    config = uvicorn.Config(build(app), log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="chaos-front-door")
    try:
        async with asyncio.timeout(START_TIMEOUT):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()
