"""Load shedding at run time, on both stores: stale messages moved or dropped without
invoking, and shuffle shards routing each key to its own queues."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from stormproof import App, Worker
from stormproof.core import shedding
from stormproof.errors import InvalidAttribute
from stormproof.testing import FakeClock


async def _drain(worker: Worker) -> None:
    while await worker.run_once():
        for consumer in worker.consumers:
            if consumer.inflight:
                await asyncio.gather(*consumer.inflight)


async def test_stale_messages_move_to_the_named_queue(store_url: str) -> None:
    clock = FakeClock()
    app = App("s", store_url, clock=clock)
    q, late = app.queue("orders"), app.queue("orders-late")
    seen: list[str] = []

    @app.function(timeout=3)
    async def handle(event: Any, context: Any) -> None:
        seen.extend(r["body"] for r in event["Records"])

    app.consume(q, handle, batch_size=10, max_message_age=60, stale_to=late)
    async with app:
        await q.send("old-1")
        await q.send("old-2", attributes={"k": "v"})
        clock.advance(61)
        await q.send("fresh")
        worker = Worker(app, concurrency=1)
        await worker.start()
        try:
            await _drain(worker)
        finally:
            await worker.shutdown()
        assert seen == ["fresh"]  # stale work is not done late
        assert (await q.stats()).total == 0
        moved = await late.receive(max_messages=10)
        assert sorted(m.body for m in moved) == ["old-1", "old-2"]
        assert {m.attributes.get("k") for m in moved} >= {"v"}
        assert sum(getattr(c, "shed", 0) for c in worker.consumers) == 2


async def test_stale_messages_dropped_only_when_asked(store_url: str) -> None:
    clock = FakeClock()
    app = App("s", store_url, clock=clock)
    q = app.queue("orders")
    seen: list[str] = []

    @app.function(timeout=3)
    async def handle(event: Any, context: Any) -> None:
        seen.extend(r["body"] for r in event["Records"])

    with pytest.raises(InvalidAttribute) as err:  # never lost by default
        app.consume(q, handle, max_message_age=60)
    assert err.value.field == "stale_to"
    with pytest.raises(InvalidAttribute):
        app.consume(q, handle, max_message_age=0.5, drop_stale=True)
    with pytest.raises(InvalidAttribute):
        app.consume(q, handle, stale_to="x")
    app.consume(q, handle, max_message_age=60, drop_stale=True)
    async with app:
        await q.send("old")
        clock.advance(120)
        await q.send("fresh")
        worker = Worker(app, concurrency=1)
        await worker.start()
        try:
            await _drain(worker)
        finally:
            await worker.shutdown()
        assert seen == ["fresh"]
        assert (await q.stats()).total == 0


async def test_shuffle_shards_route_each_key_to_its_own_queues(store_url: str) -> None:
    app = App("s", store_url, clock=FakeClock())
    shards = app.shuffle_shards("tenants", queues=8, per_key=2)
    with pytest.raises(InvalidAttribute):
        app.shuffle_shards("bad", queues=4, per_key=4)
    async with app:
        for _ in range(20):  # the noisy tenant floods
            await shards.send("noisy", "x")
        await shards.send("quiet", "y")
        noisy = {shards.queues[i].name for i in shedding.shard_of("noisy", 8, 2)}
        for q in shards.queues:
            total = (await q.stats()).total
            assert (total >= 10) == (q.name in noisy)  # spread over its own two queues only
        assert [q.name for q in shards.shard("quiet")] == [q.name for q in shards.shard("quiet")]
        assert len(await app.list_queues()) == 8


async def test_surge_queue_takes_new_sends_past_the_backlog(store_url: str) -> None:
    clock = FakeClock()
    app = App("s", store_url, clock=clock)
    overflow = app.queue("orders-surge")
    q = app.queue("orders", surge={"backlog": 3, "to": overflow})
    with pytest.raises(InvalidAttribute) as err:
        app.queue("bad", surge={"to": overflow})
    assert err.value.field == "surge.backlog"
    with pytest.raises(InvalidAttribute):
        app.queue("bad2", surge={"backlog": 1, "to": "orders-surge"})
    async with app:
        for i in range(3):
            await q.send(str(i))
        clock.advance(1.0)  # the cached reading expires: the backlog is at the threshold
        await q.send("3")
        result = await q.send_batch([{"id": "a", "body": "4"}])
        assert result.successful
        assert (await q.stats()).visible == 3
        assert sorted(m.body for m in await overflow.receive(10)) == ["3", "4"]
        for m in await q.receive(10):
            await q.delete(m.receipt_handle)
        clock.advance(1.0)  # drained: the warm path takes sends again
        await q.send("5")
        assert [m.body for m in await q.receive(10)] == ["5"]
