"""Time one alarm evaluation with N built-in DLQ alarms: ``python scripts/alarm_bench.py N [URL]``.

Declares N queues each with its own DLQ (N built-in ``dlq:<queue>`` alarms), evaluates once
to create the states, then prints the mean of five evaluations (the steady state: nothing
changes, so nothing is written).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time

from stormproof import App


async def main(n: int, url: str) -> None:
    app = App("alarm-bench", url)
    for i in range(n):
        app.queue(f"q{i}", dead_letter=app.queue(f"d{i}"))
    async with app:
        await app.alarms.run_once()
        start = time.perf_counter()
        for _ in range(5):
            await app.alarms.run_once()
        took = (time.perf_counter() - start) / 5 * 1000
    print(f"{url.split(':')[0]} alarms={n} evaluation={took:.1f} ms")


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    store = sys.argv[2] if len(sys.argv) > 2 else f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    asyncio.run(main(count, store))
