"""A worker process of 10 concurrent callers of a loopback HTTP dependency through the
global limit ``dep`` (rate 50/s; run by tests/acceptance/test_limit_rate.py).

``python -m tests.acceptance.procs.rate_caller STORE DEP_URL SECONDS GO``: waits for the
state key GO (so every process starts at once), then each caller takes a token and calls
the dependency, over and over, for SECONDS.
"""

from __future__ import annotations

import asyncio
import sys
import time

from stormproof import App
from stormproof.engine.http_sender import HttpSender
from stormproof.engine.limits import Limit

CALLERS = 10
RATE, BURST = 50, 5


async def _caller(limit: Limit, client: HttpSender, url: str, end: float) -> None:
    while time.monotonic() < end:
        async with limit.acquire():
            await client.request("POST", url, {}, b"{}", 10)


async def main(url: str, dep: str, seconds: float, go: str) -> None:
    app = App("rates", url)
    limit = app.limit("dep", rate=RATE, burst=BURST)
    client = HttpSender()
    async with app:
        # Connect before the start (to a path the dependency does not count): connection
        # setup is startup, and a first request landing late would shift the window.
        warm = [client.request("POST", f"{dep}/warm", {}, b"{}", 10) for _ in range(CALLERS)]
        await asyncio.gather(*warm)
        print("ready", flush=True)
        while not await app.store.get_state(go):
            await asyncio.sleep(0.01)
        end = time.monotonic() + seconds
        await asyncio.gather(*(_caller(limit, client, dep, end) for _ in range(CALLERS)))
    await client.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]))
