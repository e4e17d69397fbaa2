"""A worker process of 25 concurrent callers of a loopback HTTP dependency through the
global breaker ``api`` (run by tests/acceptance/test_breaker_dependency.py).

``python -m tests.acceptance.procs.dep_caller STORE DEP_URL SECONDS PROBE_TIMEOUT``: each
caller calls the dependency through the breaker (a non-2xx answer is a failure) until
SECONDS have passed; a refused caller retries 20 ms later, so all 25 keep contending.
Every request carries ``X-Pid`` so the dependency knows which process sent it.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

from stormproof import App
from stormproof.engine.breakers import CircuitBreaker
from stormproof.engine.http_sender import HttpSender
from stormproof.errors import BreakerOpen

CALLERS = 25


class Failed(Exception):
    pass


async def _caller(breaker: CircuitBreaker, client: HttpSender, url: str, end: float) -> None:
    headers = {"X-Pid": str(os.getpid())}
    while time.monotonic() < end:
        try:
            async with breaker:
                status = await client.request("POST", url, headers, b"{}", 60)
                if status >= 300:
                    raise Failed(status)
        except (BreakerOpen, Failed):
            await asyncio.sleep(0.02)


async def main(url: str, dep: str, seconds: float, probe_timeout: float) -> None:
    app = App("probes", url)
    breaker = app.breaker(
        "api",
        consecutive_failures=1,
        open_for=1,
        open_for_max=1,
        half_open_calls=1,
        probe_timeout=probe_timeout,
    )
    client = HttpSender()
    async with app:
        print("ready", flush=True)
        end = time.monotonic() + seconds
        await asyncio.gather(*(_caller(breaker, client, dep, end) for _ in range(CALLERS)))
    await client.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])))
