"""``Queue.send_many``: bulk sends in chunks, per-entry validation, on both stores."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from stormproof import App
from stormproof.errors import InvalidAttribute
from stormproof.queues.bulk import MAX_CHUNK
from stormproof.testing import FakeClock


@pytest.fixture
async def app(store_url: str) -> AsyncIterator[App]:
    app = App("test", store_url, clock=FakeClock())
    app.queue("plain")
    app.queue("f.fifo")
    async with app:
        yield app


async def _drain(app: App, name: str) -> list[str]:
    q = await app.get_queue(name)
    bodies: list[str] = []
    while batch := await q.receive(max_messages=10, wait=0):
        bodies += [m.body for m in batch]
        await q.delete_batch(
            [{"id": str(i), "receipt_handle": m.receipt_handle} for i, m in enumerate(batch)]
        )
    return bodies


async def test_sends_every_entry_across_chunks(app: App) -> None:
    q = await app.get_queue("plain")
    result = await q.send_many(({"body": f"m{i}"} for i in range(2503)), chunk=1000)
    assert result.failed == []
    assert [e for e, _ in result.successful] == [str(i) for i in range(2503)]
    assert len({mid for _, mid in result.successful}) == 2503
    assert sorted(await _drain(app, "plain")) == sorted(f"m{i}" for i in range(2503))


async def test_bad_entries_fail_alone_with_send_batch_codes(app: App) -> None:
    q = await app.get_queue("plain")
    entries = [
        {"id": "a", "body": "ok", "delay": 0.5, "attributes": {"n": 1}},
        {"id": "b", "body": "ok", "delay": 901},
        {"id": "a", "body": "again"},
        {"id": "c", "body": "x", "colour": "red"},
        {"id": "bad id!", "body": "x"},
        "not a mapping",
        {"id": "d", "body": "y", "delay": 0},
    ]
    result = await q.send_many(entries, chunk=2)
    assert [e for e, _ in result.successful] == ["a", "d"]
    codes = {e: code for e, code, _, _ in result.failed}
    assert codes == {
        "b": "InvalidAttribute",
        "a": "BatchRequestInvalid",
        "c": "InvalidAttribute",
        "bad id!": "BatchRequestInvalid",
        "5": "InvalidAttribute",
    }
    assert all(sender for *_, sender in result.failed)


async def test_fifo_order_and_dedup_hold_in_bulk(app: App) -> None:
    q = await app.get_queue("f.fifo")
    entries = [{"body": f"m{i}", "group_id": "g", "dedup_id": f"d{i % 50}"} for i in range(120)]
    result = await q.send_many(entries, chunk=7)
    assert len(result.successful) == 120
    ids = [mid for _, mid in result.successful]
    assert ids[50:100] == ids[:50]  # de-duplicated: the original message ids
    assert await _drain(app, "f.fifo") == [f"m{i}" for i in range(50)]


async def test_every_column_survives_the_multi_row_statement(store_url: str) -> None:
    # A chunk of many rows is one statement (COPY past pg_bulk.COPY_MIN rows on
    # PostgreSQL, JSON rows on SQLite): the characters those formats escape, NULL and
    # non-NULL attributes and several delays must come back intact.
    clock = FakeClock()
    tricky = ["tab\there", "line\nbreak\r\n", "back\\slash \\N \\.", "quote \" ' ,", "é ✓ 𝄞"]
    bodies = [f"{tricky[i % 5]} {i}" for i in range(150)]
    entries = [
        {"body": b, "delay": 0.25 * (i % 3), "attributes": {"k": f"v{i}"} if i % 2 else None}
        for i, b in enumerate(bodies)
    ]
    app = App("test", store_url, clock=clock)
    q = app.queue("plain")
    async with app:
        result = await q.send_many(entries, chunk=150)
        assert result.failed == []
        clock.advance(1)  # past every delay
        got = []
        while batch := await q.receive(max_messages=10, wait=0):
            got += batch
    assert {m.message_id: m.body for m in got} == {
        mid: bodies[int(e)] for e, mid in result.successful
    }
    assert sorted(int(m.attributes["k"][1:]) for m in got if m.attributes) == list(range(1, 150, 2))


@pytest.mark.parametrize("chunk", [0, MAX_CHUNK + 1, 2.5, True, "10"])
async def test_chunk_out_of_range_names_the_field(app: App, chunk: object) -> None:
    q = await app.get_queue("plain")
    with pytest.raises(InvalidAttribute, match="chunk"):
        await q.send_many([{"body": "x"}], chunk=chunk)  # type: ignore[arg-type]


async def test_empty_iterable_sends_nothing(app: App) -> None:
    q = await app.get_queue("plain")
    result = await q.send_many([])
    assert result.successful == [] and result.failed == []
