"""Time 500 POSTs over 64 concurrent tasks to the bus tests' loopback server, with the
bus's sender and with one pooled ``httpx.AsyncClient`` (why the sender has no pool:
see ``stormproof.engine.http_sender``). Wall and CPU seconds per variant.

Run: ``.venv/bin/python -m tests.support.http_bench`` (from the repository root)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx

from stormproof.engine.http_sender import HttpSender
from tests.runtime.bus_server import HttpServer

REQUESTS, TASKS = 500, 64
HEADERS = {"content-type": "application/json", "x-stormproof-event-id": "e"}


async def timed(send: Callable[[], Awaitable[object]]) -> str:
    """Wall and CPU seconds for ``REQUESTS`` sends, ``TASKS`` at a time."""
    gate = asyncio.Semaphore(TASKS)

    async def one() -> None:
        async with gate:
            await send()

    wall, cpu = time.monotonic(), time.process_time()
    await asyncio.gather(*(one() for _ in range(REQUESTS)))
    return f"wall {time.monotonic() - wall:6.3f} s  cpu {time.process_time() - cpu:6.3f} s"


async def main() -> None:
    """Each variant against the same server."""
    server = await HttpServer().up()
    url = f"{server.url}/hook"
    sender = HttpSender()
    print(
        "bus HttpSender      ", await timed(lambda: sender.request("POST", url, HEADERS, b"{}", 5))
    )
    await sender.close()
    for most, idle in ((100, 20), (64, 64)):
        limits = httpx.Limits(max_connections=most, max_keepalive_connections=idle)
        client = httpx.AsyncClient(limits=limits, trust_env=False)
        label = f"httpx pool {most}/{idle}"
        result = await timed(lambda c=client: c.post(url, content=b"{}", timeout=5))
        print(f"{label:20}", result)
        await client.aclose()
    await server.down()


if __name__ == "__main__":
    asyncio.run(main())
