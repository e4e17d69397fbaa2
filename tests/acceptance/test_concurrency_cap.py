"""Reserved concurrency is a global cap: 4 worker processes with ``--concurrency 3`` each
run a function with ``concurrency=3``; the handler records when each execution started and
ended, and counting overlapping executions proves the cap held (and was reached)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from stormproof.core.queue_rules import prepare_message
from stormproof.storage.base import Enqueue
from tests.acceptance.apps import cap_app
from tests.acceptance.worker_procs import read_lines, spawn_worker, stop_gracefully

pytestmark = pytest.mark.slow
APP = "tests.acceptance.apps.cap_app:app"
MESSAGES = 120
WORKERS = 4
PER_PROCESS = 3


async def _prepare(url: str) -> None:
    cap_app.app.store_url = url
    async with cap_app.app:
        msgs = [prepare_message(cap_app.jobs.attributes, str(i)) for i in range(MESSAGES)]
        await cap_app.app.store.apply([Enqueue("jobs", msgs)])


def max_overlap(spans: list[tuple[float, float]]) -> int:
    """The most executions running at one instant (an end at t comes before a start at t)."""
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


def test_max_overlap_counts_touching_spans_as_sequential() -> None:
    assert max_overlap([(0, 1), (1, 2), (2, 3)]) == 1
    assert max_overlap([(0, 2), (1, 3), (1.5, 4), (3.5, 5)]) == 3


def test_reserved_concurrency_holds_across_processes(store_url: str, tmp_path: Path) -> None:
    asyncio.run(_prepare(store_url))
    log, err = tmp_path / "spans.log", tmp_path / "workers.err"
    procs = [
        spawn_worker(APP, store_url, PER_PROCESS, log, err, SP_TEST_PAUSE="0.1")
        for _ in range(WORKERS)
    ]
    deadline = time.monotonic() + 100
    try:
        while len(read_lines(log)) < MESSAGES and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        codes = stop_gracefully(procs)
    assert codes == [0] * WORKERS, err.read_text()[-3000:]
    rows = [line.split() for line in read_lines(log)]
    assert len(rows) == MESSAGES, err.read_text()[-3000:]
    spans = [(float(start), float(end)) for start, end, _ in rows]
    peak = max_overlap(spans)
    print(f"peak overlap {peak}, processes {len({pid for _, _, pid in rows})}")
    assert peak <= cap_app.RESERVED, f"{peak} executions overlapped; the cap is 3"
    assert peak == cap_app.RESERVED  # the cap was reached, so the test measured something
    assert len({pid for _, _, pid in rows}) >= 2  # the work really was shared
