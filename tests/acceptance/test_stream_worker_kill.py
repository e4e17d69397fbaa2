"""SIGKILL stream workers mid-batch: another takes the shard over after its lease runs out
and resumes from the last checkpoint; no gap, in order, duplicates only from killed batches."""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.acceptance.apps import stream_kill_app
from tests.acceptance.worker_procs import read_lines, spawn_worker, stop_gracefully

pytestmark = pytest.mark.slow
APP = "tests.acceptance.apps.stream_kill_app:app"
RECORDS = 1000
WORKERS = 2
KILLS = 3


async def _prepare(url: str) -> None:
    stream_kill_app.app.store_url = url
    async with stream_kill_app.app:
        entries = [{"data": str(i), "partition_key": f"k{i}"} for i in range(RECORDS)]
        for start in range(0, RECORDS, 500):
            await stream_kill_app.stream.put_records(entries[start : start + 500])


def test_killed_stream_worker_is_taken_over_from_checkpoint(store_url: str, tmp_path: Path) -> None:
    asyncio.run(_prepare(store_url))
    log, err = tmp_path / "processed.log", tmp_path / "workers.err"
    env = {"SP_TEST_PAUSE": "0.2"}
    rng = random.Random(7)
    procs = [spawn_worker(APP, store_url, 2, log, err, **env) for _ in range(WORKERS)]
    deadline, kills = time.monotonic() + 90, 0
    try:
        while len(set(read_lines(log))) < RECORDS and time.monotonic() < deadline:
            if kills < KILLS:
                # Kill mid-work: only once records are flowing again since the last kill.
                mark = len(read_lines(log))
                while len(read_lines(log)) < mark + 20 and time.monotonic() < deadline:
                    time.sleep(0.05)
                time.sleep(rng.uniform(0.05, 0.3))
                victim = rng.randrange(WORKERS)
                procs[victim].send_signal(signal.SIGKILL)
                procs[victim].wait()
                kills += 1
                procs[victim] = spawn_worker(APP, store_url, 2, log, err, **env)
            else:
                time.sleep(0.2)
    finally:
        codes = stop_gracefully(procs)
    lines = read_lines(log)
    assert len(set(lines)) == RECORDS, err.read_text()[-3000:]
    by_shard: dict[str, list[int]] = {}
    for line in lines:
        shard, seq = line.split()
        by_shard.setdefault(shard, []).append(int(seq))
    for seqs in by_shard.values():
        assert sorted(set(seqs)) == list(range(1, len(set(seqs)) + 1))  # no gap
        seen: set[int] = set()
        for s in seqs:  # in order: a record comes only after every earlier one of its shard
            assert s == 1 or s - 1 in seen
            seen.add(s)
    duplicates = len(lines) - len(Counter(lines))
    bound = kills * stream_kill_app.BATCH_SIZE * len(by_shard)
    print(f"records={RECORDS} kills={kills} duplicates={duplicates} bound={bound}")
    assert duplicates <= bound
    assert codes == [0] * WORKERS, err.read_text()[-3000:]
