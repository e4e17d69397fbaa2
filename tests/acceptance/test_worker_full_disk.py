"""A worker whose SQLite store's disk fills up stops on SIGTERM within its shutdown timeout.

Before the fix the writer thread died at the first failed COMMIT and the worker ignored
SIGTERM (only SIGKILL stopped it). Once space is freed, a new worker finishes the work
and nothing accepted is lost.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from stormproof.storage.base import Enqueue
from tests.acceptance.apps import kill_app
from tests.acceptance.worker_procs import read_lines, spawn_worker, stop_gracefully
from tests.support.faults import fill, small_tmpfs

pytestmark = pytest.mark.slow
APP = "tests.acceptance.apps.kill_app:app"
N = 300


async def _prepare(url: str) -> None:
    from stormproof.core.queue_rules import prepare_message

    kill_app.app.store_url = url
    async with kill_app.app:
        attrs = kill_app.work.attributes
        msgs = [prepare_message(attrs, str(i)) for i in range(N)]
        await kill_app.app.store.apply([Enqueue("work", msgs)])


def _wait_for(log: Path, count: int, budget: float) -> int:
    end = time.monotonic() + budget
    while len(set(read_lines(log))) < count and time.monotonic() < end:
        time.sleep(0.1)
    return len(set(read_lines(log)))


def test_sigterm_on_a_full_disk(tmp_path: Path) -> None:
    with small_tmpfs(tmp_path) as mnt:
        db = mnt / "s.db"
        url = f"sqlite:///{db}"
        asyncio.run(_prepare(url))
        log, err = tmp_path / "processed.log", tmp_path / "worker.err"
        env = {"SP_TEST_VT": "2", "SP_TEST_PAUSE": "0.2"}
        worker = spawn_worker(APP, url, 2, log, err, **env)
        assert _wait_for(log, 10, 30) >= 10, err.read_text()
        filler = fill(mnt)
        time.sleep(1.5)  # the worker now meets the full disk on every commit
        started = time.monotonic()
        (code,) = stop_gracefully([worker], timeout=20)
        took = time.monotonic() - started
        assert took < 15, f"SIGTERM took {took:.1f} s (shutdown timeout 5 s)"
        assert code == 0, err.read_text()
        filler.unlink()
        worker = spawn_worker(APP, url, 4, log, err, **env)
        try:
            assert _wait_for(log, N, 60) == N, err.read_text()[-2000:]
        finally:
            stop_gracefully([worker])
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
