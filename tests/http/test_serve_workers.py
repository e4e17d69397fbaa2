"""``stormproof serve APP --workers 2``: two uvicorn processes on one port share the
store, so a request accepted by one is visible from the other, and a dashboard form
rendered by one is accepted by the other (one CSRF secret)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow

APP = "tests.http.frontdoor_app:app"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _wait_for_workers(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            ready = httpx.get(f"{base}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            ready = False
        # uvicorn's supervisor also forks a resource tracker: count python workers only
        if ready and len(_children(proc.pid)) >= 2:
            return
        time.sleep(0.1)
    raise AssertionError(f"two workers did not start: {log.read_text()}")


def _csrf(base: str) -> str:
    with httpx.Client() as fresh:  # a new connection, so the kernel may pick either worker
        page = fresh.get(f"{base}/ui/queues/orders", timeout=5).text
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1)


def test_two_workers_share_the_store(store_url: str, tmp_path: Path) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    command = [
        sys.executable,
        "-m",
        "stormproof",
        "--store",
        store_url,
        "serve",
        APP,
        "--port",
        str(port),
        "--workers",
        "2",
    ]
    env = {k: v for k, v in os.environ.items() if k != "STORMPROOF_CSRF_SECRET"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, env={**env, "PYTHONPATH": "."}, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _wait_for_workers(base, proc, log)
        ids = []
        for n in range(20):
            with httpx.Client() as fresh:
                answer = fresh.post(f"{base}/orders", json={"qty": n + 1}, timeout=5)
            assert answer.status_code == 202, answer.text
            ids.append(answer.json()["request_id"])
        assert len(set(ids)) == 20
        for request_id in ids:
            with httpx.Client() as fresh:
                status = fresh.get(f"{base}/requests/{request_id}", timeout=5)
            assert status.status_code == 200 and status.json()["state"] == "accepted"
        assert len({_csrf(base) for _ in range(8)}) == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
    assert code == 0, log.read_text()
