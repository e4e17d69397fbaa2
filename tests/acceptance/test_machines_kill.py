"""A worker killed with SIGKILL mid-execution: the execution resumes at the state it was in.

The first worker runs Task ``One``, then hangs in Task ``Two`` and is killed. A second
worker picks the execution up at ``Two`` (whose message reappears after its lease): ``One``
is never run again, ``Two`` runs again (at-least-once), and the execution succeeds.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

from stormproof import App
from tests.acceptance.worker_procs import read_lines, spawn_worker, stop_gracefully

APP = "tests.acceptance.apps_machines.crash_app:app"


async def _start_machine(url: str, machine: str, value: Any, name: str | None = None) -> str:
    """Start an execution of ``machine`` once a worker has stored it."""
    async with App("driver", url) as app:
        deadline = time.monotonic() + 30
        while True:  # the worker stores the machine when it opens its app
            try:
                return await app.start_execution(machine, value, name=name)
            except LookupError:
                assert time.monotonic() < deadline, "the worker never stored the machine"
                await asyncio.sleep(0.1)


async def _start(url: str) -> str:
    return await _start_machine(url, "Crash", {"order": 1}, "order-1")


async def _describe(url: str, arn: str) -> tuple[str, list[str]]:
    async with App("driver", url) as app:
        info = await app.describe_execution(arn)
        history = await app.get_execution_history(arn)
        return info.status, [
            e["type"] + ":" + str(e.get("stateEnteredEventDetails", {}).get("name", ""))
            for e in history
        ]


def _wait_for(path: Path, lines: list[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while read_lines(path) != lines:
        assert time.monotonic() < deadline, f"log is {read_lines(path)}, expected {lines}"
        time.sleep(0.05)


def test_sigkill_mid_execution_resumes_at_the_same_state(store_url: str, tmp_path: Path) -> None:
    log, err = tmp_path / "calls.log", tmp_path / "worker.err"
    first = spawn_worker(APP, store_url, 2, log, err, SP_TEST_HANG="1")
    try:
        arn = asyncio.run(_start(store_url))
        _wait_for(log, ["1", "2"])
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    status, events = asyncio.run(_describe(store_url, arn))
    assert status == "RUNNING"
    assert events[-3:] == ["TaskStateEntered:Two", "TaskScheduled:", "TaskStarted:"]
    second = spawn_worker(APP, store_url, 2, log, err)
    try:
        deadline = time.monotonic() + 60
        while (status := asyncio.run(_describe(store_url, arn))[0]) == "RUNNING":
            assert time.monotonic() < deadline, err.read_text()
            time.sleep(0.2)
    finally:
        stop_gracefully([second])
    assert status == "SUCCEEDED"
    assert read_lines(log) == ["1", "2", "2"]  # One never again; Two at least once
    _, events = asyncio.run(_describe(store_url, arn))
    assert events.count("TaskStateEntered:One") == 1 and events.count("TaskSucceeded:") == 2
