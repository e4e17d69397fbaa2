"""A mapping with ``priority=[high, low]`` on both stores: one mapping over two queues,
``high`` drained before ``low``; ``low`` gets only the capacity ``high`` leaves."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from stormproof import App, Worker
from stormproof.errors import InvalidAttribute
from stormproof.testing import FakeClock


async def _drain(worker: Worker) -> list[int]:
    claimed = []
    while n := await worker.run_once():
        claimed.append(n)
        for consumer in worker.consumers:
            if consumer.inflight:
                await asyncio.gather(*consumer.inflight)
    return claimed


async def test_high_is_drained_before_low(store_url: str) -> None:
    app = App("p", store_url, clock=FakeClock())
    high, low = app.queue("orders-high"), app.queue("orders-low")
    seen: list[str] = []

    @app.function(timeout=3)
    async def handle(event: Any, context: Any) -> None:
        seen.extend(r["body"] for r in event["Records"])

    mapping = app.consume([high, low], handle, batch_size=2, priority=True)
    assert (mapping.queue, mapping.priority) == ("orders-high", ("orders-low",))
    async with app:
        for i in range(4):
            await low.send(f"low-{i}")
        for i in range(6):
            await high.send(f"high-{i}")
        worker = Worker(app, concurrency=2)  # 2 batches of 2 per claim
        await worker.start()
        try:
            await _drain(worker)
        finally:
            await worker.shutdown()
        assert (await high.stats()).total == 0 and (await low.stats()).total == 0
    assert sorted(seen[:6]) == [f"high-{i}" for i in range(6)]  # every high first
    assert sorted(seen[6:]) == [f"low-{i}" for i in range(4)]


async def test_low_gets_the_capacity_high_leaves(store_url: str) -> None:
    app = App("p", store_url, clock=FakeClock())
    high, low = app.queue("h"), app.queue("l")
    seen: list[str] = []

    @app.function(timeout=3)
    async def handle(event: Any, context: Any) -> None:
        seen.extend(r["body"] for r in event["Records"])

    app.consume(high, handle, batch_size=1, priority=[high, low])
    async with app:
        await high.send("h-0")
        await low.send("l-0")
        await low.send("l-1")
        worker = Worker(app, concurrency=3)
        await worker.start()
        try:
            claimed = await _drain(worker)
        finally:
            await worker.shutdown()
    assert claimed[0] == 3  # one claim: h-0, then two of low with the tickets left
    assert seen[0] == "h-0" and sorted(seen[1:]) == ["l-0", "l-1"]


@pytest.mark.parametrize(
    ("queue", "priority"),
    [
        ("a", ["b", "a"]),  # must start with the mapping's queue
        (["a"], True),  # at least two
        (["a", "a"], True),  # distinct
        (["a", "b.fifo"], True),  # standard queues only
        ("a", "b"),  # a list
        ([f"q{i}" for i in range(11)], True),  # at most 10
    ],
)
def test_invalid_priorities_are_refused(queue: Any, priority: Any) -> None:
    app = App("p", "sqlite:///:memory:")

    @app.function(timeout=3)
    async def handle(event: Any, context: Any) -> None: ...

    with pytest.raises(InvalidAttribute) as info:
        app.consume(queue, handle, priority=priority)
    assert info.value.field == "priority"
