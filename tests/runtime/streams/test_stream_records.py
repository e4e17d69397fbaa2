"""Streams on both stores: routing, put/read, iterators, describe, commit-order sequences."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from stormproof import App
from stormproof.core import stream_rules as rules
from stormproof.errors import InvalidAttribute
from stormproof.streams.iterators import AfterSequenceNumber, AtSequenceNumber, AtTimestamp
from stormproof.testing import FakeClock


@pytest.fixture
async def app(store_url: str) -> AsyncIterator[App]:
    app = App("test", store_url, clock=FakeClock())
    app.stream("s", shards=4)
    app.stream("one")
    async with app:
        yield app


async def test_put_record_routes_by_md5_and_numbers_per_shard(app: App) -> None:
    s = app.streams.get("s")
    shards = await s.describe()
    assert [x.shard_id for x in shards] == [rules.shard_id(i) for i in range(4)]
    assert shards[0].starting_hash_key == "0" and shards[-1].ending_hash_key == str(rules.HASH_MAX)
    ranges = [rules.HashRange(int(x.starting_hash_key), int(x.ending_hash_key)) for x in shards]
    seen: dict[str, list[str]] = {}
    for i in range(40):
        shard, seq = await s.put_record(f"d{i}".encode(), f"key-{i}")
        assert shard == shards[rules.route(rules.hash_key(f"key-{i}"), ranges)].shard_id
        seen.setdefault(shard, []).append(seq)
    for seqs in seen.values():
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    shard, _ = await s.put_record(b"x", "any", explicit_hash_key=str(rules.HASH_MAX))
    assert shard == shards[-1].shard_id


async def test_read_with_every_iterator_type(app: App) -> None:
    s, clock = app.streams.get("one"), app.clock
    assert isinstance(clock, FakeClock)
    seqs = []
    for i in range(5):
        seqs.append((await s.put_record(str(i), "k"))[1])
        clock.advance(10)
    sid = rules.shard_id(0)
    all_ = await s.read(sid, "TRIM_HORIZON")
    assert [r.data for r in all_.records] == [b"0", b"1", b"2", b"3", b"4"]
    assert (await s.read(sid, "LATEST")).records == []
    assert (await s.read(sid, AtSequenceNumber(seqs[2]))).records[0].data == b"2"
    assert [r.data for r in (await s.read(sid, AfterSequenceNumber(seqs[2]))).records] == [
        b"3",
        b"4",
    ]
    t2 = all_.records[2].approximate_arrival_timestamp
    assert (await s.read(sid, AtTimestamp(t2))).records[0].data == b"2"
    page = await s.read(sid, "TRIM_HORIZON", limit=2)
    rest = await s.read(sid, page.next_iterator)
    assert [r.data for r in page.records + rest.records] == [r.data for r in all_.records]
    with pytest.raises(InvalidAttribute) as err:
        await s.read(sid, "NOPE")
    assert err.value.field == "iterator"


async def test_put_records_results_and_limits(app: App) -> None:
    s = app.streams.get("s")
    result = await s.put_records([{"data": b"a", "partition_key": str(i)} for i in range(500)])
    assert result.failed_record_count == 0 and len(result.records) == 500
    shape = result.as_aws()
    assert shape["FailedRecordCount"] == 0 and set(shape["Records"][0]) == {
        "ShardId",
        "SequenceNumber",
    }
    with pytest.raises(InvalidAttribute) as err:
        await s.put_records([{"data": b"a", "partition_key": "k"}] * 501)
    assert err.value.field == "entries"
    with pytest.raises(InvalidAttribute):
        await s.put_records([{"data": b"x" * (1024 * 1024), "partition_key": "k"}] * 6)
    with pytest.raises(InvalidAttribute) as err:
        await s.put_record(b"a", "")
    assert err.value.field == "partition_key"


def test_stream_declaration_ranges() -> None:
    app = App("t", "sqlite:///:memory:")
    for bad in ({"shards": 0}, {"retention": 3600}, {"retention": 366 * 86400}):
        with pytest.raises(InvalidAttribute):
            app.stream("x", **bad)  # type: ignore[arg-type]


WRITERS = 16
PER_WRITER = 40


async def test_concurrent_writers_never_show_a_gap_or_reorder(store_url: str) -> None:
    """16 writers per shard on separate apps (connections); a reader polling all along
    sees every shard's sequence numbers contiguous and each writer's records in order."""
    apps = [App("w", store_url) for _ in range(WRITERS + 1)]
    for a in apps:
        a.stream("c", shards=2)
        await a.open()
    try:
        reader, done = apps[0].streams.get("c"), asyncio.Event()
        seen: dict[str, list[int]] = {rules.shard_id(i): [] for i in range(2)}
        by_writer: dict[str, list[int]] = {}

        async def write(a: App, w: int) -> None:
            s = a.streams.get("c")
            for i in range(PER_WRITER):
                entries = [{"data": f"{w}:{i}", "partition_key": f"{w}-{p}"} for p in range(2)]
                await s.put_records(entries)

        async def read() -> None:
            after = dict.fromkeys(seen, "0")
            while True:
                finished = done.is_set()
                for sid, seqs in seen.items():
                    got = await reader.read(sid, AfterSequenceNumber(after[sid]))
                    for r in got.records:
                        seqs.append(int(r.sequence_number))
                        by_writer.setdefault(f"{sid}/{r.partition_key}", []).append(
                            int(r.data.decode().split(":")[1])
                        )
                    after[sid] = got.next_iterator.sequence_number  # type: ignore[union-attr]
                if finished:
                    return
                await asyncio.sleep(0)

        reading = asyncio.create_task(read())
        await asyncio.gather(*(write(a, w) for w, a in enumerate(apps[1:])))
        done.set()
        await reading
        total = sum(len(v) for v in seen.values())
        assert total == WRITERS * PER_WRITER * 2
        for seqs in seen.values():
            assert seqs == list(range(1, len(seqs) + 1))  # no gap, no reorder
        for order in by_writer.values():
            assert order == sorted(order)
    finally:
        for a in apps:
            await a.close()
