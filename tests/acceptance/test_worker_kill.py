"""SIGKILL a worker at random moments while it processes thousands of messages, restart it,
and prove that every message was processed, none lost, with bounded duplicates."""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from stormproof.storage.base import Enqueue
from tests.acceptance.apps import kill_app
from tests.acceptance.worker_procs import read_lines, spawn_worker, stop_gracefully

pytestmark = pytest.mark.slow
APP = "tests.acceptance.apps.kill_app:app"
CONCURRENCY = 4
WORKERS = 2


async def _prepare(url: str, n: int) -> None:
    from stormproof.core.queue_rules import prepare_message

    kill_app.app.store_url = url
    async with kill_app.app:
        attrs = kill_app.work.attributes
        for start in range(0, n, 500):
            msgs = [prepare_message(attrs, str(i)) for i in range(start, min(n, start + 500))]
            await kill_app.app.store.apply([Enqueue("work", msgs)])


async def _left(url: str) -> int:
    kill_app.app.store_url = url
    async with kill_app.app:
        return (await kill_app.work.stats()).total


def _run(url: str, tmp: Path, n: int, kills: int, seed: int, budget: float = 100) -> None:
    asyncio.run(_prepare(url, n))
    log, err = tmp / "processed.log", tmp / "workers.err"
    env = {"SP_TEST_VT": "4", "SP_TEST_PAUSE": "0.25"}
    rng = random.Random(seed)
    procs = [spawn_worker(APP, url, CONCURRENCY, log, err, **env) for _ in range(WORKERS)]
    done_kills = 0
    deadline = time.monotonic() + budget
    try:
        while len(set(read_lines(log))) < n and time.monotonic() < deadline:
            if done_kills < kills:
                time.sleep(rng.uniform(0.3, 1.5))
                victim = rng.randrange(WORKERS)
                procs[victim].send_signal(signal.SIGKILL)
                procs[victim].wait()
                done_kills += 1
                procs[victim] = spawn_worker(APP, url, CONCURRENCY, log, err, **env)
            else:
                time.sleep(0.2)
        # Everything was processed once; wait for the killed workers' leases to run out
        # and their batches to be processed (again) and deleted.
        while asyncio.run(_left(url)) and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        codes = stop_gracefully(procs)
    lines = read_lines(log)
    counts = Counter(lines)
    missing = set(map(str, range(n))) - set(counts)
    duplicates = len(lines) - len(counts)
    assert not missing, (
        f"{len(missing)} messages never processed; stderr: {err.read_text()[-3000:]}"
    )
    assert set(counts) == set(map(str, range(n)))
    assert done_kills == kills
    bound = done_kills * kill_app.BATCH_SIZE * CONCURRENCY
    print(f"messages={n} kills={done_kills} duplicates={duplicates} bound={bound}")
    assert duplicates <= bound, f"{duplicates} duplicates > {bound}"
    assert codes == [0] * WORKERS, err.read_text()[-3000:]
    assert asyncio.run(_left(url)) == 0


def test_sigkilled_workers_lose_nothing(store_url: str, tmp_path: Path) -> None:
    _run(store_url, tmp_path, n=5000, kills=10, seed=1)


@pytest.mark.soak
@pytest.mark.timeout(1200)
def test_sigkilled_workers_lose_nothing_soak(
    store_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if "soak" not in (request.config.option.markexpr or ""):
        pytest.skip("soak test: run with -m soak")
    _run(store_url, tmp_path, n=20000, kills=30, seed=2, budget=1000)


def test_sigterm_finishes_or_releases_in_flight_work(store_url: str, tmp_path: Path) -> None:
    """A worker stopped by SIGTERM exits 0 and leaves nothing in flight."""
    n = 400
    asyncio.run(_prepare(store_url, n))
    log, err = tmp_path / "processed.log", tmp_path / "workers.err"
    proc = spawn_worker(APP, store_url, CONCURRENCY, log, err, SP_TEST_PAUSE="0.3")
    deadline = time.monotonic() + 60
    while not read_lines(log) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stop_gracefully([proc]) == [0], err.read_text()[-3000:]
    done = set(read_lines(log))
    assert 0 < len(done) < n

    async def in_flight() -> tuple[int, int]:
        kill_app.app.store_url = store_url
        async with kill_app.app:
            s = await kill_app.work.stats()
            return s.in_flight, s.visible

    assert asyncio.run(in_flight()) == (0, n - len(done))


def test_worker_refuses_a_visibility_timeout_below_the_function_timeout(
    store_url: str, tmp_path: Path
) -> None:
    proc = spawn_worker(APP, store_url, 1, tmp_path / "x", tmp_path / "err", SP_TEST_VT="0.5")
    assert proc.wait(60) == 1
    assert "less than function timeout" in (tmp_path / "err").read_text()
