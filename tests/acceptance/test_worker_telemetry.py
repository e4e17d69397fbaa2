"""``stormproof worker --metrics-port --log-format json`` in a real subprocess: scrape over
HTTP (httpx) and read the JSON log lines, on both stores."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from stormproof import App
from tests.acceptance.worker_procs import ROOT, stop_gracefully

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _until(check, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        try:
            if found := check():
                return found
        except (httpx.HTTPError, KeyError):
            pass
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


async def test_worker_serves_metrics_and_json_logs(store_url: str, tmp_path: Path) -> None:
    port = _free_port()
    stderr = tmp_path / "stderr.log"
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
        "STORMPROOF_STORE": store_url,
        "STORMPROOF_LOG_FORMAT": "json",
    }
    app = App("telemetry", store_url)
    app.queue("orders-dlq")
    q = app.queue("orders", visibility_timeout=1, dead_letter="orders-dlq", max_receive_count=1)
    async with app:
        mid = await q.send("poison")
    with stderr.open("ab") as err:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "stormproof",
                "worker",
                "tests.acceptance.apps.telemetry_app:app",
                "--store",
                store_url,
                "--metrics-port",
                str(port),
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=env,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        _until(lambda: httpx.get(f"{base}/readyz").status_code == 200)
        assert httpx.get(f"{base}/healthz").json() == {"status": "alive"}
        dead = 'stormproof_queue_messages_dead_lettered_total{queue="orders"} 1.0'

        def scraped() -> str | None:
            text = httpx.get(f"{base}/metrics").text
            return text if dead in text else None

        text = _until(scraped)
        assert 'stormproof_queue_visible_messages{queue="orders-dlq"} 1.0' in text
        assert 'stormproof_function_errors_total{function="handle"} 1.0' in text
    finally:
        assert stop_gracefully([proc]) == [0]
    lines = [json.loads(x) for x in stderr.read_text().splitlines() if x.startswith("{")]
    (moved,) = [x for x in lines if x.get("event") == "message.dead_lettered"]
    assert (moved["level"], moved["app"], moved["queue"]) == ("WARNING", "telemetry", "orders")
    assert (moved["message_id"], moved["attempt"]) == (mid, 1)
