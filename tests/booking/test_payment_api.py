"""The simulated payment API over real HTTP: idempotency keys, declines, the outage."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from examples.booking.processes import ROOT, free_port


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port, record = free_port(), tmp_path / "ledger.jsonl"
    command = [
        sys.executable,
        "-m",
        "examples.booking.payment_api",
        "--port",
        str(port),
        "--record",
        str(record),
    ]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(f"{url}/stats", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None:
                    raise AssertionError("payment API exited") from None
                time.sleep(0.05)
        yield url, record
    finally:
        proc.kill()
        proc.wait()


def test_one_charge_per_key_declines_and_outage(api: tuple[str, Path]) -> None:
    url, record = api
    body = {"booking_id": "b1", "amount": 10, "card": "4242"}
    first = httpx.post(f"{url}/charges", json=body, headers={"Idempotency-Key": "k1"})
    again = httpx.post(f"{url}/charges", json=body, headers={"Idempotency-Key": "k1"})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    declined = {"booking_id": "b2", "amount": 10, "card": "4000-declined"}
    assert httpx.post(f"{url}/charges", json=declined).status_code == 402
    httpx.post(f"{url}/admin/outage", json={"seconds": 30})
    assert httpx.post(f"{url}/refunds", json={"booking_id": "b1"}).status_code == 503
    lines = [json.loads(x) for x in record.read_text().splitlines()]
    assert [(x["kind"], x["booking_id"]) for x in lines] == [("charge", "b1")]
