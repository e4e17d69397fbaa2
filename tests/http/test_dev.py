"""``stormproof dev APP`` in a subprocess: one process serves the front door and the
dashboard and runs the consumers, so an accepted request completes with no worker."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

APP = "tests.http.frontdoor_app:app"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError(f"stormproof dev did not start: {log.read_text()}")


def _outcome(base: str, request_id: str) -> dict[str, object]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        body = httpx.get(f"{base}/requests/{request_id}", timeout=2).json()
        if body["state"] in ("succeeded", "failed"):
            return dict(body)
        time.sleep(0.05)
    raise AssertionError(f"request {request_id} did not settle")


def test_dev_serves_and_consumes_in_one_process(store_url: str, tmp_path: Path) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "dev.log"
    command = [
        sys.executable,
        "-m",
        "stormproof",
        "--store",
        store_url,
        "dev",
        APP,
        "--port",
        str(port),
    ]
    env = {**os.environ, "PYTHONPATH": "."}
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_ready(base, proc, log)
        accepted = httpx.post(f"{base}/orders", json={"qty": 3}, timeout=5)
        assert accepted.status_code == 202
        outcome = _outcome(base, accepted.json()["request_id"])
        assert outcome["state"] == "succeeded" and outcome["result"] == {"total": 30}
        started = httpx.post(f"{base}/bookings", json={}, timeout=5)
        assert _outcome(base, started.json()["request_id"])["state"] == "succeeded"
        assert httpx.get(f"{base}/ui/", timeout=5).status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(20)
    text = log.read_text()
    assert code == 0, text
    assert "POST /orders -> queue orders" in text and f"{base}/ui/" in text


def test_dev_refuses_other_hosts() -> None:
    command = [sys.executable, "-m", "stormproof", "dev", APP, "--host", "0.0.0.0"]
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "loopback only" in done.stderr


def test_requests_show_prints_a_record(store_url: str) -> None:
    import json

    from stormproof import App

    app = App("frontdoor", store_url)
    app.queue("orders")
    app.api.post("/orders", to=app.queue("orders"))

    async def accept() -> str:
        from stormproof.gateway.frontdoor import FrontDoor

        async with app:
            answer = await FrontDoor(app, app.api).accept(app.api.posts["/orders"], b"{}", {})
        return str(answer.body["request_id"])

    import asyncio

    request_id = asyncio.run(accept())
    base = [sys.executable, "-m", "stormproof", "--store", store_url, "requests", "show"]
    shown = subprocess.run(
        [*base, request_id, "--json"], capture_output=True, text=True, timeout=60, check=True
    )
    record = json.loads(shown.stdout)
    assert record["state"] == "accepted" and record["target"] == {"kind": "queue", "name": "orders"}
    missing = subprocess.run(
        [*base, "req_" + "0" * 32], capture_output=True, text=True, timeout=60, check=False
    )
    assert missing.returncode != 0 and "no request" in missing.stderr
