"""Two worker processes, one evaluator: each dead letter is notified once, within 10 s,
and still after the workers are SIGKILLed one by one (the lease moves), on both stores."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from stormproof import App
from tests.acceptance.worker_procs import spawn_worker, stop_gracefully

pytestmark = pytest.mark.slow
APP = "tests.acceptance.apps.alarm_app:app"


async def _incidents(ops: Any, want: int, within: float) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + within
    while len(found) < want and time.monotonic() < deadline:
        for m in await ops.receive(max_messages=10, wait=1):
            found += json.loads(m.body)["incidents"]
            await ops.delete(m.receipt_handle)
    return found


async def test_one_notification_per_dead_letter_across_workers(
    store_url: str, tmp_path: Path
) -> None:
    app = App("alarmed", store_url)
    orders, ops = app.queue("orders-dlq"), app.queue("ops")
    orders = app.queue(
        "orders", visibility_timeout=1, dead_letter="orders-dlq", max_receive_count=1
    )
    async with app:
        procs = [
            spawn_worker(APP, store_url, 2, tmp_path / f"{i}.log", tmp_path / f"{i}.err")
            for i in range(2)
        ]
        try:
            first = await orders.send("order-1")
            got = await _incidents(ops, 1, 30)  # includes the workers' start-up
            procs[0].kill()  # SIGKILL: if it held the lease, the other takes over in 5 s
            sent_at = time.monotonic()
            second = await orders.send("order-2")
            got += await _incidents(ops, 1, 20)
            took = time.monotonic() - sent_at
            got += await _incidents(ops, 1, 3)  # nothing more: no duplicate
        finally:
            stop_gracefully(procs)
    assert [i["message_id"] for i in got] == [first, second]
    assert took < 1 + 5 + 10  # redelivery after 1 s, a lease takeover of 5 s, then 10 s
    assert {i["error_type"] for i in got} <= {"RuntimeError", None}
