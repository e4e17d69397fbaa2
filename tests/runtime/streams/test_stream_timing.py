"""Stream mappings' timing on both stores: records past ``max_record_age`` go to on-failure
without an invocation, retries back off (1 s doubling), the batching window gathers
records, and a throttle (reserved concurrency) uses no retry attempt."""

from __future__ import annotations

import base64
import itertools
import json
from typing import Any

from stormproof import App
from stormproof.functions.stream_consumer import StreamConsumer
from stormproof.testing import FakeClock
from tests.runtime.streams.test_stream_mapping import _drain


def _bodies(event: dict[str, Any]) -> list[str]:
    return [base64.b64decode(r["kinesis"]["data"]).decode() for r in event["Records"]]


async def test_expired_records_skip_the_function(store_url: str) -> None:
    clock = FakeClock()
    app = App("t", store_url, clock=clock)
    stream, fail = app.stream("s"), app.queue("fail")
    calls: list[list[str]] = []

    @app.function(timeout=30)
    async def handler(event: dict[str, Any], context: Any) -> None:
        calls.append(_bodies(event))

    mapping = app.consume(stream, handler, max_record_age=60, on_failure=fail)
    async with app:
        await stream.put_records([{"data": str(i), "partition_key": "k"} for i in range(5)])
        clock.advance(61)
        await stream.put_record(b"fresh", "k")
        await _drain(StreamConsumer(app, mapping))
        assert calls == [["fresh"]]  # the five old ones were never invoked
        [msg] = await fail.receive(10)
        record = json.loads(msg.body)
        assert record["requestContext"]["condition"] == "RecordAgeExceeded"
        assert record["requestContext"]["approximateInvokeCount"] == 0
        assert record["KinesisBatchInfo"]["batchSize"] == 5


async def test_retries_back_off_doubling(store_url: str) -> None:
    clock = FakeClock()
    app = App("t", store_url, clock=clock)
    stream, fail = app.stream("s"), app.queue("fail")
    at: list[float] = []

    @app.function(timeout=30)
    async def handler(event: dict[str, Any], context: Any) -> None:
        at.append(clock.now())
        raise ValueError("always")

    mapping = app.consume(stream, handler, max_retry_attempts=4, on_failure=fail)
    async with app:
        await stream.put_record(b"x", "k")
        await _drain(StreamConsumer(app, mapping))
        gaps = [round(b - a, 1) for a, b in itertools.pairwise(at)]
        assert gaps == [1.0, 2.0, 4.0, 8.0]
        [msg] = await fail.receive(10)
        assert json.loads(msg.body)["requestContext"]["approximateInvokeCount"] == 5


async def test_batch_window_gathers_until_full_or_elapsed(store_url: str) -> None:
    clock = FakeClock()
    app = App("t", store_url, clock=clock)
    stream = app.stream("s")
    calls: list[list[str]] = []

    @app.function(timeout=30)
    async def handler(event: dict[str, Any], context: Any) -> None:
        calls.append(_bodies(event))

    mapping = app.consume(stream, handler, batch_size=4, batch_window=5)
    async with app:
        consumer = StreamConsumer(app, mapping)
        await stream.put_records([{"data": str(i), "partition_key": "k"} for i in range(3)])
        assert await consumer.poll_once() == 0  # three of four, the window still open
        clock.advance(5)
        assert await consumer.poll_once() == 3
        await stream.put_records([{"data": str(i), "partition_key": "k"} for i in range(3, 7)])
        assert await consumer.poll_once() == 4  # full: no waiting
        assert calls == [["0", "1", "2"], ["3", "4", "5", "6"]]


async def test_a_throttle_uses_no_retry_attempt(store_url: str) -> None:
    clock = FakeClock()
    app = App("t", store_url, clock=clock)
    stream, fail = app.stream("s"), app.queue("fail")
    attempts: list[int] = []

    @app.function(timeout=30, concurrency=1)
    async def handler(event: dict[str, Any], context: Any) -> None:
        attempts.append(context.attempt)

    mapping = app.consume(stream, handler, max_retry_attempts=0, on_failure=fail)
    async with app:
        pool = handler.slot_pool()
        assert pool is not None and await pool.acquire(1) == 1  # someone else runs it
        consumer = StreamConsumer(app, mapping)
        await stream.put_record(b"x", "k")
        for _ in range(3):
            assert await consumer.poll_once() == 0
            clock.advance(1)
        pool.release(1)
        await _drain(consumer)
        assert attempts == [1]  # the throttles were not attempts: it ran, it succeeded
        assert await fail.receive(10) == []


async def test_iterator_age_per_shard_is_a_gauge(store_url: str) -> None:
    from stormproof.telemetry.metrics import Metrics

    clock = FakeClock()
    app = App("t", store_url, clock=clock)
    stream = app.stream("s")

    @app.function(timeout=30)
    async def handler(event: dict[str, Any], context: Any) -> None: ...

    mapping = app.consume(stream, handler)
    metrics = Metrics("t")
    unsubscribe = metrics.subscribe()
    try:
        async with app:
            await stream.put_record(b"x", "k")
            clock.advance(7)
            await _drain(StreamConsumer(app, mapping))
        text = metrics.text().decode()
    finally:
        unsubscribe()
    line = (
        'stormproof_stream_iterator_age_seconds{mapping="s->handler",shard="shardId-000000000000"}'
    )
    assert f"{line} 7.0" in text
