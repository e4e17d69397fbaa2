"""A flood at 5x a route's rate against ``stormproof dev`` (front door and consumers in one
real process): the excess gets 429 with Retry-After, every 202 is processed, none is
lost, and no accepted request is answered twice. Real HTTP on loopback, a bounded
paced load generator (httpx, 200 requests/s for 3 s)."""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.http.test_dev import _free_port, _wait_ready

pytestmark = pytest.mark.slow

RATE, BURST = 40, 20  # the /flood route's throttle (tests/http/frontdoor_app.py)
OFFERED, SECONDS = 5 * RATE, 3.0


async def _flood(base: str) -> tuple[list[tuple[int, float, httpx.Response]], float]:
    """Send OFFERED requests per second for SECONDS, paced, each with its own key."""
    results: list[tuple[int, float, httpx.Response]] = []
    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(base_url=base, timeout=10, limits=limits) as client:

        async def one(n: int) -> None:
            began = time.monotonic()
            answer = await client.post("/flood", json={"qty": n + 1})
            results.append((n, time.monotonic() - began, answer))

        start = time.monotonic()
        tasks = []
        for n in range(int(OFFERED * SECONDS)):
            await asyncio.sleep(max(0.0, start + n / OFFERED - time.monotonic()))
            tasks.append(asyncio.create_task(one(n)))
        await asyncio.gather(*tasks)
    return results, time.monotonic() - start


async def _settle(base: str, ids: list[str]) -> dict[str, str]:
    states: dict[str, str] = {}
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        deadline = time.monotonic() + 60
        while len(states) < len(ids) and time.monotonic() < deadline:
            for request_id in [i for i in ids if i not in states]:
                body = (await client.get(f"/requests/{request_id}")).json()
                if body["state"] in ("succeeded", "failed"):
                    states[request_id] = body["state"]
            await asyncio.sleep(0.1)
    return states


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) > 1 else values[0]


def test_flood_at_five_times_the_rate(tmp_path: Path) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log, processed = tmp_path / "dev.log", tmp_path / "processed.log"
    store = f"sqlite:///{tmp_path / 'flood.db'}"
    command = [
        sys.executable,
        "-m",
        "stormproof",
        "--store",
        store,
        "dev",
        "tests.http.frontdoor_app:app",
        "--port",
        str(port),
    ]
    env = {**os.environ, "PYTHONPATH": ".", "SP_TEST_LOG": str(processed)}
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_ready(base, proc, log)
        results, elapsed = asyncio.run(_flood(base))
        accepted = [r for r in results if r[2].status_code == 202]
        refused = [r for r in results if r[2].status_code == 429]
        ids = [r[2].json()["request_id"] for r in accepted]
        states = asyncio.run(_settle(base, ids))
    finally:
        proc.terminate()
        proc.wait(30)
    assert len(accepted) + len(refused) == len(results), {r[2].status_code for r in results}
    # the bucket admits the burst plus the refill over the flood (leases: a little slack)
    # (a loaded machine stretches the flood: the refill is over the time it really took)
    assert BURST + RATE * SECONDS * 0.6 <= len(accepted) <= BURST + RATE * elapsed * 1.1 + 5
    assert all(r[2].headers.get("retry-after") for r in refused)
    assert len(set(ids)) == len(ids)
    assert states == dict.fromkeys(ids, "succeeded"), "every 202 is processed"
    lines = processed.read_text().splitlines()
    assert len(lines) == len(ids), "processed exactly once each"
    p99_accepted = _p99([r[1] for r in accepted]) * 1000
    p99_refused = _p99([r[1] for r in refused]) * 1000
    print(
        f"\nflood: offered {len(results)} in {elapsed:.1f} s, accepted {len(accepted)}, "
        f"429 {len(refused)}; p99 202 {p99_accepted:.1f} ms, p99 429 {p99_refused:.1f} ms"
    )
