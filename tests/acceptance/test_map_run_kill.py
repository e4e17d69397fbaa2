"""Workers SIGKILLed during a distributed Map: every child completes, the parent succeeds.

Two workers run a Map Run of 40 child executions; each time the task log grows, one of
them is killed with SIGKILL and a fresh one takes its place. Whatever was claimed by a
dead worker reappears after its 2 s lease: children resume at the state they were in,
the parent's outcomes are counted once, and the output is complete and in item order.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

from stormproof import App
from tests.acceptance.test_machines_kill import _start_machine
from tests.acceptance.worker_procs import read_lines, spawn_worker, stop_gracefully

APP = "tests.acceptance.apps_machines.map_app:app"
ITEMS = list(range(40))


async def _closed(url: str, arn: str) -> tuple[str, object, list[str]]:
    async with App("driver", url) as app:
        info = await app.describe_execution(arn)
        children = await app.list_executions("CrashMap/Fan", limit=1000)
        return info.status, info.output, [c.status for c in children]


def test_sigkilled_workers_lose_no_child(store_url: str, tmp_path: Path) -> None:
    log, err = tmp_path / "calls.log", tmp_path / "worker.err"
    workers = [spawn_worker(APP, store_url, 4, log, err) for _ in range(2)]
    try:
        arn = asyncio.run(_start_machine(store_url, "CrashMap", ITEMS))
        for kills in range(3):
            deadline = time.monotonic() + 60
            while len(read_lines(log)) < 8 * (kills + 1):
                assert time.monotonic() < deadline, err.read_text()
                time.sleep(0.02)
            victim = workers.pop(0)
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            workers.append(spawn_worker(APP, store_url, 4, log, err))
        deadline = time.monotonic() + 120
        while (result := asyncio.run(_closed(store_url, arn)))[0] == "RUNNING":
            assert time.monotonic() < deadline, err.read_text()
            time.sleep(0.2)
    finally:
        stop_gracefully(workers)
    status, output, children = result
    assert status == "SUCCEEDED"
    assert output == [item * 2 for item in ITEMS]
    assert children == ["SUCCEEDED"] * len(ITEMS)
    calls = [int(line) for line in read_lines(log)]
    assert set(calls) == set(ITEMS)  # every item ran; a killed one may have run twice
