"""Rounds of N processes opening (and migrating) one fresh SQLite file at the same moment.

``python -m tests.storage.open_race_proc DIR ROUNDS N``: prints ``failures K`` and one
line per failure; run in its own process so that forking happens without test threads.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import sys
from multiprocessing.synchronize import Barrier

from stormproof import App


def _open(path: str, barrier: Barrier, results: mp.Queue[str]) -> None:
    async def go() -> None:
        app = App("race", f"sqlite:///{path}")
        app.queue("orders")
        app.queue("orders-dlq")
        barrier.wait()
        async with app:
            await app.queue("orders").send("hello")

    try:
        asyncio.run(go())
    except Exception as exc:  # reported to the test, which fails on any
        results.put(f"{type(exc).__name__}: {exc}")
    else:
        results.put("")


def main(folder: str, rounds: int, n: int) -> int:
    """Run the rounds; the exit status is the number of failed opens."""
    ctx = mp.get_context("fork")
    failures = []
    for r in range(rounds):
        path = f"{folder}/r{r}.db"
        barrier, results = ctx.Barrier(n), ctx.Queue()
        procs = [ctx.Process(target=_open, args=(path, barrier, results)) for _ in range(n)]
        for p in procs:
            p.start()
        outcomes = [results.get(timeout=60) for _ in procs]
        for p in procs:
            p.join()
        failures += [f"round {r}: {o}" for o in outcomes if o]
    print(f"failures {len(failures)}")
    for line in failures:
        print(line)
    return min(len(failures), 100)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
