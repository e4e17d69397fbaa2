"""Who consumes during an experiment: a worker in this process, or a pool of real
``stormproof worker`` processes that a ``process:worker`` fault SIGKILLs one at a time (a
new one is started in its place, as a supervisor would)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys

from stormproof.app import App
from stormproof.worker import Worker

STOP_GRACE = 5.0


class InProcess:
    """A :class:`Worker` on the experiment's own (open) app."""

    def __init__(self, app: App, concurrency: int) -> None:
        self.worker = Worker(app, concurrency=concurrency)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start consuming."""
        await self.worker.start()
        self._task = asyncio.create_task(self.worker.run(), name="chaos-worker")

    async def stop(self) -> None:
        """Stop claiming and let running work finish."""
        self.worker.stop()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, STOP_GRACE * 2)


class Pool:
    """``processes`` worker processes of ``app_spec`` on ``store_url``."""

    def __init__(
        self, app_spec: str, store_url: str, processes: int, concurrency: int, seed: int | None
    ) -> None:
        self.app_spec = app_spec
        self.store_url = store_url
        self.size = processes
        self.concurrency = concurrency
        self.procs: list[subprocess.Popen[bytes]] = []
        self.rng = random.Random(seed)
        self.started = 0

    def _spawn(self) -> subprocess.Popen[bytes]:
        cmd = [
            sys.executable,
            "-m",
            "stormproof",
            "worker",
            self.app_spec,
            "--concurrency",
            str(self.concurrency),
            "--log-level",
            "WARNING",
            "--shutdown-timeout",
            "2",
        ]
        env = {**os.environ, "STORMPROOF_STORE": self.store_url}
        self.started += 1
        return subprocess.Popen(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=os.getcwd()
        )

    async def start(self) -> None:
        """Start every process."""
        self.procs = [self._spawn() for _ in range(self.size)]

    def kill_one(self) -> int | None:
        """SIGKILL one running worker (chosen by the seeded draw) and start a new one."""
        alive = [p for p in self.procs if p.poll() is None]
        if not alive:
            return None
        victim = self.rng.choice(alive)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        self.procs = [p for p in self.procs if p is not victim] + [self._spawn()]
        return victim.pid

    async def stop(self) -> None:
        """SIGTERM every worker (they release their messages), SIGKILL the ones that hang."""
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                await asyncio.to_thread(p.wait, STOP_GRACE)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs = []
