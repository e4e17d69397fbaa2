"""A process of 25 concurrent callers against the global breaker ``api``: prints how many
got a half-open probe permit (run by tests/acceptance/test_breaker_probes.py)."""

from __future__ import annotations

import asyncio
import sys

from stormproof import App
from stormproof.engine.breakers import Permit

CALLERS = 25


async def main(url: str, go: str) -> None:
    app = App("probes", url)
    breaker = app.breaker("api", consecutive_failures=1, half_open_calls=1)
    async with app:
        while not await app.store.get_state(go):  # start together: all contend at once
            await asyncio.sleep(0.01)
        got = await asyncio.gather(*(breaker.try_admit() for _ in range(CALLERS)))
        print(sum(isinstance(g, Permit) for g in got), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
