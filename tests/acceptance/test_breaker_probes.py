"""4 real processes x 25 concurrent callers against a global breaker whose open time is
over: across all of them exactly ``half_open_calls`` (1) probe is admitted."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest

from stormproof import App
from stormproof.core import breaker as core
from stormproof.storage.base import CompareAndSet

pytestmark = pytest.mark.slow
PROCESSES = 4


async def _trip_in_the_past(url: str) -> None:
    app = App("probes", url)
    async with app:
        p = core.policy(consecutive_failures=1, half_open_calls=1)
        state = core.trip(core.Breaker(), app.clock.now() - 60, p, 0.0, "test")  # open time over
        op = CompareAndSet("breaker/api", None, json.dumps(core.to_dict(state)))
        assert (await app.store.apply([op]))[0].ok


async def _go(url: str) -> None:
    app = App("probes", url)
    async with app:
        await app.store.apply([CompareAndSet("go", None, "1")])


def test_at_most_half_open_calls_probes_across_processes(store_url: str) -> None:
    asyncio.run(_trip_in_the_past(store_url))
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.acceptance.procs.prober", store_url, "go"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    asyncio.run(_go(store_url))
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0] * PROCESSES, [e for _, e in outs]
    probes = [int(out.strip()) for out, _ in outs]
    assert sum(probes) == 1, probes
