"""Start ``stormproof worker`` subprocesses for the acceptance tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def spawn_worker(
    app: str, url: str, concurrency: int, log: Path, stderr: Path, **env: str
) -> subprocess.Popen[bytes]:
    """``python -m stormproof worker APP --store URL --concurrency N`` with test settings."""
    with stderr.open("ab") as err:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "stormproof",
                "worker",
                app,
                "--store",
                url,
                "--concurrency",
                str(concurrency),
                "--shutdown-timeout",
                "5",
                "--log-level",
                "WARNING",
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env={
                **os.environ,
                "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
                "SP_TEST_LOG": str(log),
                **env,
            },
        )


def stop_gracefully(procs: list[subprocess.Popen[bytes]], timeout: float = 30) -> list[int]:
    """SIGTERM every worker and wait; returns their exit codes."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    codes = []
    for proc in procs:
        try:
            codes.append(proc.wait(timeout))
        except subprocess.TimeoutExpired:
            proc.kill()
            codes.append(proc.wait())
    return codes


def read_lines(path: Path) -> list[str]:
    """The lines written so far (none if the file does not exist yet)."""
    if not path.exists():
        return []
    return [line for line in path.read_text().splitlines() if line]
