"""``stormproof chaos inject|list|stop`` in a subprocess on both stores: the id printed,
the list as JSON, a bad field refused with its option named, the kill switch."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.acceptance.worker_procs import ROOT

pytestmark = pytest.mark.slow  # a dozen CLI subprocesses
ENV = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}


def _cli(store_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "stormproof", "--store", store_url, "chaos", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=ENV, check=False)


def test_inject_list_and_stop(store_url: str) -> None:
    route = ["--target", "route:POST /bookings", "--action", "error", "--status", "503"]
    made = _cli(store_url, "inject", "--app", "shop", *route, "--duration", "30", "--seed", "3")
    assert made.returncode == 0, made.stderr
    fault_id = made.stdout.strip()
    spread = '{"distribution": "uniform", "min": 0.1, "max": 0.2}'
    store = ["--target", "store", "--action", "latency", "--latency", spread]
    slow = _cli(store_url, "inject", "--app", "shop", *store)
    assert slow.returncode == 0, slow.stderr
    listed = json.loads(_cli(store_url, "list", "--app", "shop", "--json").stdout)
    assert {i["id"] for i in listed} == {fault_id, slow.stdout.strip()}
    first = next(i for i in listed if i["id"] == fault_id)
    assert first["fault"]["status"] == 503 and first["fault"]["seed"] == 3 and first["active"]
    bad = _cli(
        store_url,
        "inject",
        "--app",
        "shop",
        "--target",
        "function:f",
        "--action",
        "error",
        "--probability",
        "1.5",
    )
    assert bad.returncode == 2 and "--probability" in bad.stderr and "1.5" in bad.stderr
    one = _cli(store_url, "stop", "--app", "shop", fault_id)
    assert one.returncode == 0 and "removed 1 fault" in one.stdout
    assert _cli(store_url, "stop", "--app", "shop", fault_id).returncode == 1
    everything = _cli(store_url, "stop", "--app", "shop")
    assert everything.returncode == 0 and "removed 1 fault" in everything.stdout
    assert json.loads(_cli(store_url, "list", "--app", "shop", "--json").stdout) == []
