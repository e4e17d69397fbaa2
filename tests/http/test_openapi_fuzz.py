"""schemathesis against the front door's own ``/openapi.json``: a real ``stormproof serve``
on loopback, fuzzed over real HTTP by schemathesis' CLI. No input makes it answer 5xx,
every answer matches the document (status, content type, body schema, ``Allow`` on 405),
and schema-violating bodies are refused.

``positive_data_acceptance`` is off on purpose: the fuzzer reuses idempotency keys with
new bodies (422, as documented) and puts 40-digit integers in bus events, which
EventBridge's 64-bit limit refuses (400, as documented); neither is expressible in a
JSON Schema the front door could publish."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow

APP = "tests.http.frontdoor_app:app"
CHECKS_OFF = "positive_data_acceptance"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _schemathesis() -> str:
    found = shutil.which("st", path=str(Path(sys.executable).parent))
    assert found, "schemathesis is in the test extra: pip install -e '.[test]'"
    return found


def test_front_door_survives_schemathesis(tmp_path: Path) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    store = f"sqlite:///{tmp_path / 'fuzz.db'}"
    log = tmp_path / "serve.log"
    serve = [
        sys.executable,
        "-m",
        "stormproof",
        "--store",
        store,
        "serve",
        APP,
        "--port",
        str(port),
    ]
    env = {**os.environ, "PYTHONPATH": "."}
    with log.open("wb") as out:
        server = subprocess.Popen(serve, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, log.read_text()
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
        fuzz = [
            _schemathesis(),
            "run",
            f"{base}/openapi.json",
            "--checks",
            "all",
            "--exclude-checks",
            CHECKS_OFF,
            "--phases",
            "coverage,fuzzing",
            "--max-examples",
            "15",
            "--seed",
            "20261202",
            "--no-color",
        ]
        done = subprocess.run(fuzz, capture_output=True, text=True, timeout=240, check=False)
    finally:
        server.terminate()
        server.wait(20)
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    cases = re.search(r"(\d+) passed\s+Seed:", report)
    assert cases and int(cases.group(1)) >= 100, report  # the run really exercised the API
