"""A bus HTTP target behind a breaker, on both stores, against a real loopback server:
while the breaker is open deliveries wait in the queue (no attempt counted, no DLQ), and
they are delivered once it closes."""

from __future__ import annotations

import random

from stormproof import App, Target
from stormproof.bus.publish import delivery_queue
from stormproof.core.breaker import State
from stormproof.testing import FakeClock
from tests.runtime.bus_server import HttpServer

ENTRY = {"source": "shop", "detail_type": "order", "detail": {"n": 1}}


async def test_open_breaker_leaves_deliveries_in_the_queue(store_url: str) -> None:
    server = await HttpServer(status=503).up()
    clock = FakeClock()
    app = App("bb", store_url, clock=clock)
    app.buses.background = False
    app.buses.rng = random.Random(7)
    dlq = app.queue("dlq")
    b = app.breaker("hook", consecutive_failures=1, open_for=60, scope="process")
    target = Target(
        app.http_target(server.url, name="hook", breaker=b), max_retry_attempts=1, dead_letter=dlq
    )
    app.bus("default").rule("r", pattern={"source": ["shop"]}, targets=[target])
    try:
        async with app:
            await app.bus("default").put_events([ENTRY, ENTRY])
            assert await app.buses.run_once() == 2  # both admitted while closed: they trip it
            assert b.state.state is State.OPEN
            assert len(server.answered) == 2
            for _ in range(10):  # open for 60 s: nothing reaches the server or the DLQ
                clock.advance(5)
                await app.buses.run_once()
            assert len(server.answered) == 2  # their retries wait: no attempt, no DLQ
            assert (await dlq.stats()).total == 0
            counts = await app.store.counts(delivery_queue("default"))
            assert counts.delayed == 2  # waiting for the breaker's retry_at
            server.status = 200
            for _ in range(20):
                clock.advance(5)
                await app.buses.run_once()
                if len(server.received) == 2:
                    break
            assert len(server.received) == 2  # delivered after recovery, none dead-lettered
            assert (await dlq.stats()).total == 0
            assert b.state.state is State.CLOSED
    finally:
        await server.down()


async def test_http_target_rate_is_one_global_limit(store_url: str) -> None:
    clock = FakeClock()
    one, two = App("bb", store_url, clock=clock), App("bb", store_url, clock=clock)
    t1 = one.http_target("http://127.0.0.1:9/hook", name="hook", rate=5)
    t2 = two.http_target("http://127.0.0.1:9/hook", name="hook", rate=5)
    assert t1.limit is not None and t2.limit is not None
    async with one, two:
        got = [await t.take(1) for t in (t1.limit, t2.limit) * 5 for _ in range(2)]
        assert sum(got) == 5  # the burst, shared by both processes (not 5 each)
        clock.advance(1)
        assert await t2.limit.take(1) == 1
