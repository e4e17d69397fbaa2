"""``stormproof ui APP`` in a subprocess: serves the dashboard alone; refuses to listen
beyond loopback without an admin token."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

APP = "tests.http.dashboard.ui_app:app"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_ui_serves_the_dashboard_alone(store_url: str, tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "STORMPROOF_STORE": store_url}
    command = [
        sys.executable,
        "-m",
        "stormproof",
        "--store",
        store_url,
        "ui",
        APP,
        "--port",
        str(port),
    ]
    log = tmp_path / "ui.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        for _ in range(200):
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/ui/", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, log.read_text()
                time.sleep(0.05)
        assert r.status_code == 200 and "orders-dlq" in r.text
        assert httpx.get(f"http://127.0.0.1:{port}/orders").status_code == 404  # no front door
    finally:
        proc.terminate()
        proc.wait(10)


def test_ui_refuses_other_hosts_without_a_token() -> None:
    env = {k: v for k, v in os.environ.items() if k != "STORMPROOF_ADMIN_TOKEN"}
    command = [sys.executable, "-m", "stormproof", "ui", APP, "--host", "0.0.0.0"]
    done = subprocess.run(command, check=False, env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 1 and "STORMPROOF_ADMIN_TOKEN" in done.stderr
