"""Global limits on both stores: the burst is exact under contention between processes,
the rate refills with the clock, and the concurrency limit is a global slot pool."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from stormproof import App
from stormproof.errors import InvalidAttribute
from stormproof.testing import FakeClock


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"rate": -1}, "rate"),
        ({"rate": 5, "burst": 0}, "burst"),
        ({"concurrency": 0}, "concurrency"),
        ({}, "rate"),
        ({"rate": 1, "colour": "red"}, "colour"),
    ],
)
def test_invalid_limits_are_rejected(options: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidAttribute) as err:
        App("l", "sqlite:///unused.db").limit("api", **options)
    assert err.value.field == field


async def test_burst_is_exact_under_64_concurrent_callers(store_url: str) -> None:
    clock = FakeClock()
    apps = [App("l", store_url, clock=clock) for _ in range(4)]
    limits = [a.limit("api", rate=10, burst=10) for a in apps]
    async with contextlib.AsyncExitStack() as stack:
        for a in apps:
            await stack.enter_async_context(a)
        got = await asyncio.gather(*(lim.take(1) for lim in limits for _ in range(16)))
        assert sum(got) == 10
        assert not await limits[0].take(1)
        assert limits[0].retry_after > 0
        clock.advance(0.5)  # 5 tokens refilled
        got = await asyncio.gather(*(lim.take(1) for lim in limits for _ in range(16)))
        assert sum(got) == 5


async def test_keys_are_separate_and_acquire_waits(store_url: str) -> None:
    clock = FakeClock()
    app = App("l", store_url, clock=clock)
    quota = app.limit("api", rate=1, burst=1, concurrency=2)
    async with app:
        async with quota.acquire(key="tenant-1"), quota.acquire(key="tenant-2"):
            pool = quota.slot_pool()
            assert pool is not None and pool.in_use == 2
        waiter = asyncio.ensure_future(_enter(quota, "tenant-1"))
        await asyncio.sleep(0.05)
        assert not waiter.done()  # no token for tenant-1 before a second has passed
        clock.advance(1.0)
        for _ in range(50):  # a refusal answered after the advance sleeps a second from it
            if waiter.done():
                break
            await asyncio.sleep(0.1)
            clock.advance(1.0)
        await asyncio.wait_for(waiter, 1)


async def _enter(quota: Any, key: str) -> None:
    async with quota.acquire(key=key):
        pass


async def test_mapping_waits_for_its_limit_with_the_backlog_in_the_queue(store_url: str) -> None:
    from stormproof import Worker

    clock = FakeClock()
    app = App("l", store_url, clock=clock)
    q = app.queue("orders")
    quota = app.limit("api", rate=1, burst=2)
    seen: list[str] = []

    @app.function(timeout=5)
    async def handle(event: Any, context: Any) -> None:
        seen.extend(r["body"] for r in event["Records"])

    app.consume(q, handle, batch_size=1, limit=quota)
    async with app:
        worker = Worker(app, concurrency=4)
        await worker.start()
        try:
            for i in range(5):
                await q.send(str(i))
            assert await worker.run_once() == 2  # the burst: two invocations
            assert await worker.run_once() == 0  # throttled: nothing claimed
            assert (await q.stats()).visible == 3
            clock.advance(1.0)
            assert await worker.run_once() == 1
        finally:
            await worker.shutdown()
    assert len(seen) == 3


async def test_one_refusal_answers_every_caller_until_its_retry_after(store_url: str) -> None:
    clock = FakeClock()
    app = App("l", store_url, clock=clock)
    quota = app.limit("api", rate=1, burst=1)
    async with app:
        assert await quota.take(1) == 1
        assert await quota.take(1) == 0  # the store refused: about 1 s to wait
        store = app.store
        await store.close()  # from now on any store call would fail
        try:
            got = await asyncio.gather(*(quota.take(1) for _ in range(50)))
            assert got == [0] * 50 and 0 < quota.retry_after <= 1.0
        finally:
            await store.open()
        clock.advance(1.0)
        assert await quota.take(1) == 1
