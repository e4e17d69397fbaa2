"""Faults on deliveries, both stores: a bus rule's target delivery and an HTTP target's
request fail as injected (the endpoint never called) and dead-letter by the target's
policy; a stream mapping's invocation fails and the mapping retries it; stopping the
fault lets the next delivery through."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest

from stormproof import App, Target, Worker
from stormproof.chaos import Fault
from stormproof.engine import events
from stormproof.testing import FakeClock
from tests.runtime.bus_server import HttpServer

ENTRY = {"source": "shop", "detail_type": "order", "detail": {"n": 1}}


@pytest.fixture
async def server() -> AsyncIterator[HttpServer]:
    srv = await HttpServer(status=200).up()
    yield srv
    await srv.down()


def _app(store_url: str) -> App:
    app = App("deliveries", store_url, clock=FakeClock(), consume=True, chaos=True)
    app.buses.background = False
    app.buses.rng = random.Random(7)
    return app


async def _refreshed(app: App) -> None:
    assert app.chaos._view is not None
    await app.chaos._view.refresh()


async def test_a_bus_target_fault_fails_the_delivery_into_the_target_dlq(
    store_url: str, server: HttpServer
) -> None:
    app = _app(store_url)
    dlq = app.queue("dlq")
    hook = app.http_target(server.url + "/hook", name="hook")
    target = Target(hook, max_retry_attempts=0, dead_letter=dlq)
    app.bus("default").rule("r1", pattern={"source": ["shop"]}, targets=[target])
    async with app:
        await app.chaos.inject(Fault("bus-target:default/r1", "error", error="ConnectionError"))
        await _refreshed(app)
        await app.bus("default").put_events([ENTRY])
        assert await app.buses.run_once() == 1
        assert server.answered == []
        [msg] = await dlq.receive(1)
        assert json.loads(msg.body)["detail"] == {"n": 1}
        await app.chaos.stop()
        await _refreshed(app)
        await app.bus("default").put_events([ENTRY])
        assert await app.buses.run_once() == 1
        assert len(server.received) == 1


async def test_an_http_target_fault_answers_instead_of_the_endpoint(
    store_url: str, server: HttpServer
) -> None:
    app = _app(store_url)
    dlq = app.queue("dlq")
    hook = app.http_target(server.url + "/hook", name="hook")
    target = Target(hook, max_retry_attempts=0, dead_letter=dlq)
    app.bus("default").rule("r", pattern={"source": ["shop"]}, targets=[target])
    async with app:
        await app.chaos.inject(Fault(f"http-target:{server.url}", "error", status=503))
        await _refreshed(app)
        await app.bus("default").put_events([ENTRY])
        assert await app.buses.run_once() == 1
        assert server.answered == [] and len(await dlq.receive(1)) == 1
        assert (await app.chaos.faults())[0]["fault"]["status"] == 503


async def test_a_stream_mapping_fault_fails_the_batch_and_it_is_retried(store_url: str) -> None:
    app = App("streams", store_url, chaos=True)
    stream = app.stream("clicks")
    seen: list[Any] = []

    @app.function(timeout=5)
    async def count(event: Any, context: Any) -> None:
        seen.extend(r["kinesis"]["sequenceNumber"] for r in event["Records"])

    app.consume(stream, count, batch_size=10)  # retries until the record succeeds
    hits: list[events.RuntimeEvent] = []
    unsubscribe = events.subscribe(lambda e: hits.append(e) if e.name == "fault.injected" else None)
    try:
        async with app:
            fault = Fault("stream-mapping:clicks", "error", duration=0.6)
            await app.chaos.inject(fault)
            await _refreshed(app)
            _, sequence = await stream.put_record("one", partition_key="k")
            worker = Worker(app, concurrency=2)
            task = asyncio.create_task(worker.run())
            try:
                for _ in range(400):
                    if seen:
                        break
                    await asyncio.sleep(0.025)
            finally:
                worker.stop()
                await task
    finally:
        unsubscribe()
    assert seen == [sequence]  # retried after the fault expired, processed once
    assert hits and all(e.fields["target"] == "stream-mapping:clicks" for e in hits)
