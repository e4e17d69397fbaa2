"""Issue 14 acceptance: 4 worker processes x 25 concurrent callers against a tripped
global breaker, counted AT THE DEPENDENCY (a loopback HTTP server that records when each
request came and from which process).

* The dependency stays down: each half-open window (``open_for=1`` s) lets exactly one
  probe through, so no two requests arrive less than a window apart.
* The first probe hangs and its process is killed with SIGKILL while it holds the permit:
  nobody probes until the permit's ``probe_timeout`` runs out, then (after the reopen's
  ``open_for``) a surviving process probes, the dependency is healthy, and it closes.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.acceptance.test_breaker_probes import _trip_in_the_past
from tests.runtime.bus_server import _read

pytestmark = pytest.mark.slow
PROCESSES = 4
OPEN_FOR = 1.0
PROBE_TIMEOUT = 2.0


class Dependency:
    """Counts requests (time, sender pid); ``hang_first`` never answers the first one."""

    def __init__(self, hang_first: bool) -> None:
        self.hang_first = hang_first
        self.calls: list[tuple[float, int]] = []
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/"

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.writers):
            writer.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.add(writer)
        try:
            while (request := await _read(reader)) is not None:
                self.calls.append((time.monotonic(), int(request.headers["x-pid"])))
                if self.hang_first and len(self.calls) == 1:
                    await reader.read()  # until the prober dies and its socket closes
                    return
                code = 200 if self.hang_first else 503
                writer.write(f"HTTP/1.1 {code} X\r\nContent-Length: 0\r\n\r\n".encode())
                await writer.drain()
        except ConnectionError:
            return
        finally:
            self.writers.discard(writer)
            writer.close()


@contextmanager
def _workers(store_url: str, dep: str, seconds: float) -> Iterator[list[subprocess.Popen[str]]]:
    argv = [sys.executable, "-m", "tests.acceptance.procs.dep_caller", store_url, dep]
    procs = [
        subprocess.Popen(
            [*argv, str(seconds), str(PROBE_TIMEOUT)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    try:
        yield procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.communicate(timeout=30)


async def _wait_for(predicate: object, timeout: float) -> None:
    end = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < end, "timed out"
        await asyncio.sleep(0.02)


async def _one_probe_per_window(store_url: str) -> None:
    dep = Dependency(hang_first=False)
    await dep.start()
    await _trip_in_the_past(store_url)
    with _workers(store_url, dep.url, 4.0) as procs:
        await _wait_for(lambda: all(p.poll() is not None for p in procs), 40)
        assert [p.returncode for p in procs] == [0] * PROCESSES
    await dep.stop()
    times = [t for t, _ in dep.calls]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) >= 3, dep.calls  # the windows kept coming (never stuck)
    assert min(gaps) >= OPEN_FOR * 0.9, gaps  # one probe per half-open window, never two
    print(f"{len(times)} probes at the dependency, min gap {min(gaps):.3f} s")


def test_at_most_one_probe_per_half_open_window_at_the_dependency(store_url: str) -> None:
    asyncio.run(_one_probe_per_window(store_url))


async def _killed_prober(store_url: str) -> None:
    dep = Dependency(hang_first=True)
    await dep.start()
    await _trip_in_the_past(store_url)
    with _workers(store_url, dep.url, 30.0) as procs:  # killed once it has closed
        await _wait_for(lambda: len(dep.calls) >= 1, 20)
        first_at, prober = dep.calls[0]
        os.kill(prober, signal.SIGKILL)
        await _wait_for(lambda: len(dep.calls) >= 2, 3 * (PROBE_TIMEOUT + OPEN_FOR))
        second_at, second = dep.calls[1]
        await _wait_for(lambda: len(dep.calls) >= 20, 5)  # healthy again: it closed
        killed = next(p for p in procs if p.pid == prober)
        assert killed.wait(5) == -signal.SIGKILL
        assert all(p.poll() is None for p in procs if p is not killed), "a survivor died"
    await dep.stop()
    assert second != prober
    waited = second_at - first_at
    assert waited >= PROBE_TIMEOUT * 0.9, waited  # the dead prober's permit held until expiry
    assert waited <= PROBE_TIMEOUT + OPEN_FOR + 4.0, waited  # and then released, not stuck
    print(f"next probe {waited:.2f} s after the killed one (probe_timeout={PROBE_TIMEOUT})")


def test_killed_prober_releases_its_permit_after_the_probe_timeout(store_url: str) -> None:
    asyncio.run(_killed_prober(store_url))
