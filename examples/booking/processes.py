"""The demo's processes: the payment API, the receiver, ``stormproof dev`` and workers.

Each is a real subprocess with its output in a log file of the run's folder; they are
stopped in reverse order (SIGINT for stormproof's, so running work finishes or is released).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A port nobody listens on right now (loopback)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Fleet:
    """The processes of one run, their environment and where their logs go."""

    folder: Path
    env: dict[str, str]
    procs: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def start(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        """Start ``python ARGS`` with the run's environment; output to ``<name>.log``."""
        with (self.folder / f"{name}.log").open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, *args],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.procs.append((name, proc))
        return proc

    def wait_http(self, name: str, url: str, timeout: float = 60) -> None:
        """Wait until ``url`` answers; fail with the process's log if it died."""
        proc = dict(self.procs)[name]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited: {self.log(name)[-3000:]}")
            try:
                httpx.get(url, timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"{name} did not answer {url}: {self.log(name)[-3000:]}")

    def log(self, name: str) -> str:
        """A process's output so far."""
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def alive(self) -> list[str]:
        """The names of the processes still running."""
        return [n for n, p in self.procs if p.poll() is None]

    def stop(self) -> None:
        """SIGINT everything, newest first; SIGKILL what is still there after 20 s."""
        for _, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 20
        for _, proc in reversed(self.procs):
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def environment(store: str, payment_port: int, receiver_port: int, chaos: bool) -> dict[str, str]:
    """The environment every process of the run shares."""
    env = dict(os.environ)
    env.update(
        STORMPROOF_STORE=store,
        BOOKING_PAYMENT_URL=f"http://127.0.0.1:{payment_port}",
        BOOKING_RECEIVER_URL=f"http://127.0.0.1:{receiver_port}",
        PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    )
    if chaos:
        env["STORMPROOF_CHAOS"] = "1"
    return env
