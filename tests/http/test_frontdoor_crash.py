"""SIGKILL the server right after its 202s: every accepted request is in the store and
is processed by a worker after the restart."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from stormproof.worker import Worker
from tests.http import frontdoor_app as fa
from tests.http.server import serving

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spawn(url: str, port: int, err: Path) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "stormproof",
        "--store",
        url,
        "serve",
        "tests.http.frontdoor_app:app",
        "--port",
        str(port),
    ]
    with err.open("wb") as stderr:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(cmd, stderr=stderr, env={**os.environ, "PYTHONPATH": "."})


def _wait_ready(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the server exited"
        try:
            httpx.get(f"http://127.0.0.1:{port}/requests/req_x", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the server did not start")


def test_accepted_requests_survive_sigkill(store_url: str, tmp_path: Path) -> None:
    port = _free_port()
    proc = _spawn(store_url, port, tmp_path / "server.err")
    try:
        _wait_ready(port, proc)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            ids = []
            for i in range(20):
                r = client.post("/orders", json={"qty": i + 1})
                assert r.status_code == 202, r.text
                ids.append(r.json()["request_id"])
        proc.send_signal(signal.SIGKILL)  # no shutdown, no flush: the 202 meant "stored"
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    asyncio.run(_process_after_restart(store_url, ids))


async def _process_after_restart(url: str, ids: list[str]) -> None:
    fa.app.store_url = url
    async with serving(fa.app, webhooks=False) as client:
        states = [(await client.get(f"/requests/{i}")).json()["state"] for i in ids]
        assert states == ["accepted"] * len(ids)
        worker = Worker(fa.app, concurrency=4)
        task = asyncio.create_task(worker.run())
        try:
            for n, request_id in enumerate(ids):
                for _ in range(500):
                    body = (await client.get(f"/requests/{request_id}")).json()
                    if body["state"] == "succeeded":
                        break
                    await asyncio.sleep(0.02)
                assert body.get("result") == {"total": (n + 1) * 10}, body
        finally:
            worker.stop()
            await task
