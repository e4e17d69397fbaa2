"""Span links: a batch links every producer; an async retry links (and descends from) its
first run; a send outside any work opens its own ``send`` span."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from stormproof import App, Worker
from stormproof.functions.stream_consumer import StreamConsumer
from stormproof.streams.iterators import TRIM_HORIZON
from stormproof.testing import FakeClock


@pytest.fixture
def traced() -> Iterator[tuple[InMemorySpanExporter, TracerProvider]]:
    """An SDK provider exporting to memory."""
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    yield memory, provider
    provider.shutdown()


async def test_a_batch_span_links_each_producer_instead_of_one_parent(
    store_url: str, traced: tuple[InMemorySpanExporter, TracerProvider]
) -> None:
    memory, provider = traced
    app = App("links", store_url)
    q = app.queue("orders", visibility_timeout=60)
    seen: list[int] = []

    @app.function(timeout=5)
    async def handle(event: Any, context: Any) -> None:
        seen.append(len(event["Records"]))

    app.consume(q, handle, batch_size=3)
    async with app:
        disable = app.enable_tracing(provider)
        try:
            ids = [await q.send(f"m{i}") for i in range(3)]
            worker = Worker(app)
            await worker.start()
            await worker.run_once()
            await worker.shutdown()
        finally:
            disable()
    assert seen == [3]
    spans = memory.get_finished_spans()
    sends = [s for s in spans if s.name == "send orders"]
    assert len(sends) == 3 and all(s.kind is SpanKind.PRODUCER and s.parent is None for s in sends)
    assert len({s.context.trace_id for s in sends}) == 3  # three producers, three traces
    [batch] = [s for s in spans if s.name == "process orders"]
    assert batch.parent is None  # no producer is chosen over the others
    assert (batch.attributes or {})["messaging.batch.message_count"] == 3
    assert "messaging.message.id" not in (batch.attributes or {})
    linked = {(link.context.trace_id, link.context.span_id) for link in batch.links}
    assert linked == {(s.context.trace_id, s.context.span_id) for s in sends}
    assert {(link.attributes or {})["messaging.message.id"] for link in batch.links} == set(ids)


async def test_an_async_retry_is_its_own_span_linked_to_the_first_run(
    store_url: str, traced: tuple[InMemorySpanExporter, TracerProvider]
) -> None:
    memory, provider = traced
    clock = FakeClock()
    app = App("retries", store_url, clock=clock)
    runs: list[int] = []

    @app.function(timeout=5, max_retry_attempts=2)
    async def flaky(event: Any, context: Any) -> str:
        runs.append(1)
        if len(runs) < 3:
            raise RuntimeError("not yet")
        return "ok"

    async with app:
        disable = app.enable_tracing(provider)
        try:
            await flaky.invoke_async({"n": 1})
            worker = Worker(app)
            await worker.start()
            for _ in range(3):
                await worker.run_once()
                clock.advance(400)  # past any retry delay
            await worker.shutdown()
        finally:
            disable()
    assert len(runs) == 3
    spans = memory.get_finished_spans()
    [send] = [s for s in spans if s.name == "send _fn-flaky"]  # the caller's; retries add none
    first, *retries = [s for s in spans if s.name == "process _fn-flaky"]
    assert [(s.attributes or {})["stormproof.attempt"] for s in (first, *retries)] == [1, 2, 3]
    assert first.parent is not None and first.parent.span_id == send.context.span_id
    assert first.status.status_code.name == "ERROR"
    assert (first.attributes or {})["stormproof.function"] == "flaky"
    for retry in retries:
        assert retry.parent is not None and retry.parent.span_id == first.context.span_id
        [link] = retry.links
        assert link.context.span_id == first.context.span_id
        assert (link.attributes or {})["stormproof.link"] == "retry_of"
    assert retries[-1].status.status_code.name != "ERROR"


async def test_a_stream_record_carries_its_producers_context_to_the_mapping(
    store_url: str, traced: tuple[InMemorySpanExporter, TracerProvider]
) -> None:
    memory, provider = traced
    app = App("streamed", store_url, clock=FakeClock())
    clicks = app.stream("clicks")
    seen: list[int] = []

    @app.function(timeout=30)
    async def count(event: Any, context: Any) -> None:
        seen.append(len(event["Records"]))

    mapping = app.consume(clicks, count, batch_size=10)
    async with app:
        disable = app.enable_tracing(provider)
        try:
            await clicks.put_records([{"data": str(i), "partition_key": "k"} for i in range(3)])
            [record, *_] = (
                await clicks.read((await clicks.describe())[0].shard_id, TRIM_HORIZON)
            ).records
            consumer = StreamConsumer(app, mapping)
            while await consumer.poll_once():
                pass
        finally:
            disable()
    assert seen == [3]
    spans = memory.get_finished_spans()
    [put] = [s for s in spans if s.name == "send clicks"]
    assert (put.attributes or {})["messaging.batch.message_count"] == 3
    assert record.trace_header is not None
    assert record.trace_header.split("-")[2] == f"{put.context.span_id:016x}"
    [run] = [s for s in spans if s.name == "process clicks"]
    assert (run.attributes or {})["messaging.batch.message_count"] == 3
    assert [link.context.span_id for link in run.links] == [put.context.span_id] * 3
