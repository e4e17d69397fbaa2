"""Stream mappings on both stores: order, bisect-on-error, retries, on-failure records,
partial batch responses, shard leases and takeover from the checkpoint."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from stormproof import App
from stormproof.core.stream_batch import bisection_bound
from stormproof.errors import InvalidAttribute
from stormproof.functions.stream_consumer import StreamConsumer
from stormproof.storage import stream_ops
from stormproof.testing import FakeClock

RECORDS = 4_000
SHARDS = 8
BATCH = 100


async def _drain(consumer: StreamConsumer) -> None:
    """Poll until nothing is left; a batch backing off before a retry moves the fake clock."""
    while True:
        if await consumer.poll_once():
            continue
        due = consumer.next_due()
        if due is None:
            return
        clock = consumer.rt.clock
        assert isinstance(clock, FakeClock)
        clock.advance(max(0.0, due - clock.now()) + 0.001)


@pytest.fixture
async def app(store_url: str) -> AsyncIterator[App]:
    app = App("test", store_url, clock=FakeClock())
    async with app:
        yield app


async def test_poison_record_is_bisected_out_and_sent_on_failure(store_url: str) -> None:
    await _poison_case(store_url, RECORDS)


@pytest.mark.soak
async def test_poison_record_in_100000_records(store_url: str) -> None:
    """The issue's acceptance size: 100,000 records over 8 shards."""
    await _poison_case(store_url, 100_000)


async def _poison_case(store_url: str, records: int) -> None:
    app = App("t", store_url, clock=FakeClock())
    stream = app.stream("s", shards=SHARDS)
    fail = app.queue("fail")
    seen: dict[str, list[int]] = {}

    @app.function(timeout=30)
    async def handler(event: dict[str, Any], context: Any) -> None:
        got = []
        for r in event["Records"]:
            body = base64.b64decode(r["kinesis"]["data"]).decode()
            if body == "poison":
                raise ValueError("poison")
            got.append((r["kinesis"]["partitionKey"], int(body)))
        for key, n in got:
            seen.setdefault(key, []).append(n)

    mapping = app.consume(
        stream,
        handler,
        batch_size=BATCH,
        bisect_on_error=True,
        max_retry_attempts=2,
        on_failure=fail,
    )
    async with app:
        entries = [{"data": str(i), "partition_key": f"k{i % 50}"} for i in range(records)]
        entries[1234] = {"data": "poison", "partition_key": "k34"}
        for i in range(0, records, 500):
            await stream.put_records(entries[i : i + 500])
        consumer = StreamConsumer(app, mapping)
        await _drain(consumer)
        assert sum(len(v) for v in seen.values()) == records - 1
        for key, order in seen.items():
            assert order == sorted(order), key
            want = [i for i in range(records) if f"k{i % 50}" == key and i != 1234]
            assert order == want
        await _assert_poison_alone_on_failure(fail, stream)
        per_shard = [s.last_sequence_number for s in await stream.describe()]
        batches = sum(-(-int(str(n)) // BATCH) for n in per_shard)
        assert consumer.invocations <= batches + bisection_bound(BATCH) + 2
        rows = await app.store.run(lambda: stream_ops.checkpoints(mapping.id))
        assert [r.seq for r in rows] == [int(str(n)) for n in per_shard]


async def _assert_poison_alone_on_failure(fail: Any, stream: Any) -> None:
    """The on-failure queue holds one record naming exactly the poison record."""
    msgs = await fail.receive(10)
    assert len(msgs) == 1
    record = json.loads(msgs[0].body)
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    info = record["KinesisBatchInfo"]
    assert info["batchSize"] == 1
    assert info["startSequenceNumber"] == info["endSequenceNumber"]
    got = await stream.read(info["shardId"], _at(info["startSequenceNumber"]), limit=1)
    assert got.records[0].data == b"poison"


def _at(seq: str) -> Any:
    from stormproof.streams.iterators import AtSequenceNumber

    return AtSequenceNumber(seq)


async def test_partial_response_retries_from_lowest_failure(store_url: str) -> None:
    app = App("t", store_url, clock=FakeClock())
    stream = app.stream("s")
    batches: list[list[str]] = []
    failed_once: set[str] = set()

    @app.function(timeout=30)
    async def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seqs = [r["kinesis"]["sequenceNumber"] for r in event["Records"]]
        batches.append([base64.b64decode(r["kinesis"]["data"]).decode() for r in event["Records"]])
        bad = [s for s, b in zip(seqs, batches[-1], strict=True) if b in ("3", "6")]
        bad = [s for s in bad if s not in failed_once]
        failed_once.update(bad)
        return {"batchItemFailures": [{"itemIdentifier": s} for s in bad]}

    mapping = app.consume(stream, handler, batch_size=10, report_batch_item_failures=True)
    async with app:
        await stream.put_records([{"data": str(i), "partition_key": "k"} for i in range(10)])
        await _drain(StreamConsumer(app, mapping))
    assert batches == [[str(i) for i in range(10)], [str(i) for i in range(3, 10)]]


async def test_lease_is_exclusive_and_taken_over_after_expiry(store_url: str) -> None:
    clock = FakeClock()
    app = App("t", store_url, clock=clock)
    stream = app.stream("s", shards=2)
    calls: list[tuple[str, list[str]]] = []

    @app.function(timeout=30)
    async def handler(event: dict[str, Any], context: Any) -> None:
        calls.append(("", [r["eventID"] for r in event["Records"]]))

    mapping = app.consume(stream, handler, batch_size=5)
    async with app:
        await stream.put_records([{"data": str(i), "partition_key": f"p{i}"} for i in range(40)])
        first, second = StreamConsumer(app, mapping), StreamConsumer(app, mapping)
        assert await first.poll_once() > 0
        assert first.held == {"shardId-000000000000", "shardId-000000000001"}
        assert await second.poll_once() == 0 and second.held == set()
        await first.poll_once()  # sees two live workers: hands one shard over
        assert len(first.held) == 1
        await second.poll_once()
        assert len(second.held) == 1 and first.held.isdisjoint(second.held)
        # ``first`` dies without releasing: its leases expire, ``second`` resumes in order.
        clock.advance(31)
        await _drain(second)
        ids = [e for _, ids in calls for e in ids]
        assert len(ids) == 40 and len(set(ids)) == 40  # resumed after the checkpoint
        for shard in ("shardId-000000000000", "shardId-000000000001"):
            seqs = [e.split(":")[1] for e in ids if e.startswith(shard)]
            assert seqs == sorted(seqs)


def test_mapping_ranges_are_validated() -> None:
    app = App("t", "sqlite:///:memory:")
    stream = app.stream("s")

    @app.function
    async def fn(event: Any, context: Any) -> None: ...

    bad = [
        {"batch_size": 0},
        {"batch_size": 10_001},
        {"parallelization_factor": 11},
        {"max_retry_attempts": -2},
        {"max_record_age": 30},
        {"tumbling_window": 901},
        {"starting_position": "AT_TIMESTAMP"},
        {"batch_window": 301},
    ]
    for options in bad:
        with pytest.raises(InvalidAttribute):
            app.consume(stream, fn, **options)


async def test_parallelization_factor_runs_slots_concurrently_in_key_order(
    store_url: str,
) -> None:
    app = App("t", store_url, clock=FakeClock())
    stream = app.stream("s")
    seen: dict[str, list[int]] = {}
    running, peak = 0, 0

    @app.function(timeout=30)
    async def handler(event: dict[str, Any], context: Any) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        for r in event["Records"]:
            body = int(base64.b64decode(r["kinesis"]["data"]))
            seen.setdefault(r["kinesis"]["partitionKey"], []).append(body)
        running -= 1

    mapping = app.consume(stream, handler, batch_size=20, parallelization_factor=4)
    async with app:
        await stream.put_records(
            [{"data": str(i), "partition_key": f"k{i % 13}"} for i in range(300)]
        )
        consumer = StreamConsumer(app, mapping)
        await _drain(consumer)
        assert len(consumer.held) == 4
    assert peak > 1
    assert sum(len(v) for v in seen.values()) == 300
    for key, order in seen.items():
        assert order == [i for i in range(300) if f"k{i % 13}" == key]


async def test_reshard_keeps_per_key_order(store_url: str) -> None:
    app = App("t", store_url, clock=FakeClock())
    stream = app.stream("s", shards=2)
    seen: dict[str, list[int]] = {}

    @app.function(timeout=30)
    async def handler(event: dict[str, Any], context: Any) -> None:
        for r in event["Records"]:
            body = int(base64.b64decode(r["kinesis"]["data"]))
            seen.setdefault(r["kinesis"]["partitionKey"], []).append(body)

    mapping = app.consume(stream, handler, batch_size=10, starting_position="LATEST")
    async with app:
        consumer = StreamConsumer(app, mapping)
        await consumer.poll_once()  # LATEST: the mapping starts at the (empty) end
        await stream.put_records(
            [{"data": str(i), "partition_key": f"k{i % 7}"} for i in range(100)]
        )
        await consumer.poll_once()  # part of the parents only
        shards = await stream.reshard(3)
        assert [s.state for s in shards] == ["CLOSED", "CLOSED", "OPEN", "OPEN", "OPEN"]
        assert shards[3].parent_shard_id == "shardId-000000000000,shardId-000000000001"
        await stream.put_records(
            [{"data": str(i), "partition_key": f"k{i % 7}"} for i in range(100, 200)]
        )
        await _drain(consumer)
        assert consumer.held == {s.shard_id for s in shards[2:]}
    assert sum(len(v) for v in seen.values()) == 200
    for key, order in seen.items():
        assert order == [i for i in range(200) if f"k{i % 7}" == key]
