"""``stormproof alarms ls|show`` on both stores: the evaluated state and the incidents
(the failed event, its error and redrive command) of a built-in DLQ alarm."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from click.testing import CliRunner

from stormproof import App, Worker
from stormproof.cli import main
from stormproof.testing import FakeClock


def _cli(store_url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--store", store_url, *args])
    return result.exit_code, result.stdout + result.stderr


async def _seed(store_url: str) -> None:
    clock = FakeClock()
    app = App("shop", store_url, clock=clock)
    dlq = app.queue("orders-dlq", retention=14 * 86400)
    q = app.queue("orders", visibility_timeout=1, dead_letter=dlq, max_receive_count=1)

    @app.function(timeout=1)
    async def charge(event: Any, context: Any) -> None:
        raise LookupError("no such card")

    app.consume(q, charge)
    undo = app.alarms.collector.subscribe()
    try:
        async with app:
            worker = Worker(app, background=False)
            await q.send("order-9")
            for _ in range(2):
                await worker.run_once()
                clock.advance(2)
            await app.alarms.run_once()
            await worker.shutdown()
    finally:
        undo()


def test_alarms_ls_and_show(store_url: str) -> None:
    asyncio.run(_seed(store_url))
    code, out = _cli(store_url, "alarms", "ls", "--json")
    assert code == 0, out
    rows = json.loads(out)
    assert [(r["app"], r["name"], r["state"], r["metric"]) for r in rows] == [
        ("shop", "dlq:orders-dlq", "ALARM", "dlq_depth:orders-dlq")
    ]
    code, out = _cli(store_url, "alarms", "show", "dlq:orders-dlq", "--json")
    assert code == 0, out
    (item,) = json.loads(out)["incidents"]
    assert (item["event"], item["error_type"]) == ("order-9", "LookupError")
    code, out = _cli(store_url, "alarms", "show", "dlq:orders-dlq")
    assert "redrive: stormproof dlq redrive orders-dlq" in out
    code, out = _cli(store_url, "alarms", "show", "nope")
    assert code != 0 and "no alarm 'nope'" in out
    assert _cli(store_url, "alarms", "ls", "--app", "other", "--json")[1].strip() == "[]"
