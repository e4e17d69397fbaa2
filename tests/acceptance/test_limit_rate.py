"""Issue 14 acceptance: a global rate of 50/s shared by 4 worker processes (10 callers
each, always wanting more), measured AT THE DEPENDENCY (a loopback HTTP server stamping
each request): 50 calls/s in total, within 5 % over 10 s (475 to 525 calls, plus the
burst at the start)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import pytest

from stormproof import App
from stormproof.storage.base import CompareAndSet
from tests.acceptance.procs.rate_caller import BURST, RATE
from tests.runtime.bus_server import HttpServer, Request

pytestmark = pytest.mark.slow
PROCESSES = 4
SECONDS = 10.0
RUN = SECONDS + 1.5  # the processes run a little longer than the window measured


async def _measure(store_url: str) -> list[float]:
    stamps: list[float] = []

    def stamp(request: Request) -> int:
        if not request.path.endswith("warm"):  # the callers' connection warm-up
            stamps.append(time.monotonic())
        return 200

    dep = await HttpServer(status=stamp).up()
    argv = [sys.executable, "-m", "tests.acceptance.procs.rate_caller", store_url, dep.url]
    procs = [
        subprocess.Popen([*argv, str(RUN), "go"], stdout=subprocess.PIPE, text=True)
        for _ in range(PROCESSES)
    ]
    try:
        for p in procs:  # every process is up before any calls: startup is not measured
            assert p.stdout is not None  # read off the loop: the dependency serves warm-ups
            assert (await asyncio.to_thread(p.stdout.readline)).strip() == "ready"
        app = App("rates", store_url)
        async with app:
            await app.store.apply([CompareAndSet("go", None, "1")])
        end = time.monotonic() + RUN + 30
        while any(p.poll() is None for p in procs):
            assert time.monotonic() < end, "the callers did not finish"
            await asyncio.sleep(0.1)
        assert [p.returncode for p in procs] == [0] * PROCESSES
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.communicate(timeout=30)
        await dep.down()
    return stamps


def test_50_per_second_over_4_processes_measured_at_the_dependency(store_url: str) -> None:
    stamps = asyncio.run(_measure(store_url))
    start = stamps[0]
    in_window = sum(1 for t in stamps if start <= t < start + SECONDS)
    expected = RATE * SECONDS
    per_second = [sum(1 for t in stamps if start + s <= t < start + s + 1) for s in range(10)]
    print(f"{in_window} calls in {SECONDS:g} s at the dependency; per second {per_second}")
    assert in_window <= expected * 1.05 + BURST, in_window  # never more than the rate
    # And the processes get all of it, within 5 % (>= 47.5/s), on both stores: a grant is
    # one atomic step in the store (one statement on PostgreSQL), so contending processes
    # queue for it instead of losing compare-and-sets and backing off.
    assert in_window >= expected * 0.95, in_window
    # GCRA: the first second may add the burst; later seconds hold the rate, give or take
    # the jitter of requests on the wire (a late one lands in the next second).
    assert per_second[0] <= RATE + BURST + 1, per_second
    assert max(per_second[1:]) <= RATE * 1.1, per_second
