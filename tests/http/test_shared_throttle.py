"""Two ``stormproof serve`` processes on one store honour one usage plan's rate together."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from tests.acceptance.test_cli_queues import ok_json
from tests.http.test_frontdoor_crash import _free_port, _spawn, _wait_ready

pytestmark = pytest.mark.slow

RATE, BURST = 5.0, 10


async def _flood(ports: list[int], secret: str, seconds: float) -> tuple[list[int], float]:
    """Post to both servers in turn, as fast as they answer, for ``seconds``."""
    codes: list[int] = []
    headers = {"x-api-key": secret}
    async with httpx.AsyncClient(timeout=10) as client:
        start = time.monotonic()

        async def one_client(port: int) -> None:
            while time.monotonic() - start < seconds:
                url = f"http://127.0.0.1:{port}/orders"
                r = await client.post(url, json={"qty": 1}, headers=headers)
                codes.append(r.status_code)

        await asyncio.gather(*(one_client(p) for p in ports for _ in range(4)))
        return codes, time.monotonic() - start


def test_two_servers_share_one_plan_rate(store_url: str, tmp_path: Path) -> None:
    ok_json(store_url, "plans", "create", "shared", "--rate", str(RATE), "--burst", str(BURST))
    secret = ok_json(store_url, "keys", "create", "flood", "--plan", "shared")["secret"]
    ports = [_free_port(), _free_port()]
    first = _spawn(store_url, ports[0], tmp_path / "a.err")
    procs = [first]
    try:
        _wait_ready(ports[0], first)  # the first one migrates the store
        procs.append(_spawn(store_url, ports[1], tmp_path / "b.err"))
        _wait_ready(ports[1], procs[1])
        codes, elapsed = asyncio.run(_flood(ports, secret, 1.5))
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)
    accepted = codes.count(202)
    assert set(codes) <= {202, 429}
    # The plan's bucket is global: both processes together admit at most the burst plus the
    # refill over the flood (each on its own would admit twice that).
    assert BURST <= accepted <= BURST + RATE * elapsed + 1, (accepted, elapsed)
    assert codes.count(429) > accepted
