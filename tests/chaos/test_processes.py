"""Faults across real processes on both stores: a new fault and the kill switch reach
another process within 1 s, a fault expires on its own after its injector is SIGKILLed,
COUNT(n) makes exactly n processes obey, and a worker SIGKILLs itself with nothing lost."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from stormproof import App
from stormproof.chaos import Fault
from tests.acceptance.worker_procs import ROOT, spawn_worker, stop_gracefully

pytestmark = pytest.mark.slow
ENV = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}


@pytest.fixture
def probers(store_url: str, tmp_path: Path) -> Iterator[list[Path]]:
    """Three chaos-enabled prober processes; their outcome logs."""
    outs = [tmp_path / f"probe-{i}.log" for i in range(3)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.chaos.prober", "probe", store_url, str(out)],
            cwd=ROOT,
            env=ENV,
            stderr=subprocess.DEVNULL,
        )
        for out in outs
    ]
    try:
        deadline = time.monotonic() + 60
        while not all(_lines(o) for o in outs):
            assert time.monotonic() < deadline, "probers never became ready"
            assert all(p.poll() is None for p in procs), "a prober died"
            time.sleep(0.05)
        yield outs
    finally:
        for p in procs:
            p.kill()
            p.wait()


def _lines(out: Path) -> list[tuple[float, str]]:
    if not out.exists():
        return []
    return [(float(t), s) for t, s in (line.split() for line in out.read_text().splitlines())]


async def _flip(out: Path, state: str, after: float, limit: float = 5.0) -> float:
    """Seconds from ``after`` until ``out`` reports ``state``."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        for at, seen in _lines(out):
            if seen == state and at >= after:
                return at - after
        await asyncio.sleep(0.02)
    raise AssertionError(f"{out.name} never reported {state}")


@pytest.fixture
async def control(store_url: str) -> AsyncIterator[App]:
    async with App("probes", store_url, chaos=False) as app:
        yield app


async def test_a_fault_and_the_kill_switch_reach_other_processes_within_a_second(
    probers: list[Path], control: App
) -> None:
    began = time.time()
    await control.chaos.inject(Fault("function:probe", "error", duration=60))
    seen = [await _flip(out, "fail", began) for out in probers]
    stopped = time.time()
    await control.chaos.stop()
    cleared = [await _flip(out, "ok", stopped) for out in probers]
    assert max(seen) < 1.0 and max(cleared) < 1.0, (seen, cleared)


async def test_a_fault_expires_with_its_injector_killed(
    probers: list[Path], store_url: str, control: App
) -> None:
    injector = subprocess.Popen(
        [sys.executable, "-m", "tests.chaos.prober", "inject", store_url, "1.5"],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert injector.stdout is not None
        fault_id = injector.stdout.readline().strip()
        began = time.time()
        await _flip(probers[0], "fail", began - 1)
    finally:
        injector.send_signal(signal.SIGKILL)
        injector.wait()
        if injector.stdout is not None:
            injector.stdout.close()
    assert injector.returncode == -signal.SIGKILL
    recovered = await _flip(probers[0], "ok", began)
    assert 0.5 < recovered < 1.5 + 1.0  # the fault's own end, seen within a refresh
    assert fault_id and await control.chaos.faults() == []


async def test_count_n_makes_exactly_n_processes_obey(probers: list[Path], control: App) -> None:
    began = time.time()
    await control.chaos.inject(Fault("function:probe", "error", selection="COUNT(2)"))
    await asyncio.sleep(1.5)
    failing = [any(s == "fail" and t >= began for t, s in _lines(out)) for out in probers]
    assert sum(failing) == 2


async def test_a_worker_sigkills_itself_and_nothing_is_lost(store_url: str, tmp_path: Path) -> None:
    log, err = tmp_path / "done.log", tmp_path / "stderr.log"
    async with App("crashy", store_url) as control:
        jobs = await control.create_queue("jobs", visibility_timeout=1)
        await control.chaos.inject(Fault("worker", "crash", duration=60))
        await jobs.send({"n": 1})
        worker = spawn_worker(
            "tests.chaos.crash_app:app", store_url, 2, log, err, STORMPROOF_CHAOS="1"
        )
        try:
            code = await asyncio.to_thread(worker.wait, 60)
        finally:
            if worker.poll() is None:
                worker.kill()
        assert code == -signal.SIGKILL, err.read_text()
        assert not log.exists()  # it died before running the job
        await control.chaos.stop()
        worker = spawn_worker(
            "tests.chaos.crash_app:app", store_url, 2, log, err, STORMPROOF_CHAOS="1"
        )
        try:
            for _ in range(600):
                if log.exists() and log.read_text().split() == ["1"]:
                    break
                await asyncio.sleep(0.05)
        finally:
            stop_gracefully([worker])
    assert log.read_text().split() == ["1"]  # the job came back after the crash: not lost
