"""SQS semantics of the Queue API, on both stores, with a fake clock (no sleeping)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest

from stormproof import App
from stormproof.errors import (
    BatchRequestInvalid,
    InvalidAttribute,
    InvalidMessageContents,
    MessageNotInflight,
    MessageTooLarge,
    MissingParameter,
    QueueDoesNotExist,
    ReceiptHandleIsInvalid,
)
from stormproof.testing import FakeClock

AppFactory = Callable[..., App]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def app(store_url: str, clock: FakeClock) -> AsyncIterator[App]:
    app = App("test", store_url, clock=clock)
    app.queue("dlq")
    app.queue("q", visibility_timeout=30, dead_letter="dlq", max_receive_count=3)
    app.queue("plain")
    app.queue("f-dlq.fifo")
    app.queue("f.fifo", dead_letter="f-dlq.fifo", max_receive_count=2)
    app.queue("cbd.fifo", content_based_deduplication=True)
    async with app:
        yield app


async def test_send_receive_delete_round_trip(app: App, clock: FakeClock) -> None:
    q = await app.get_queue("plain")
    mid = await q.send({"order": 1}, attributes={"s": "x", "n": 5, "f": 1.5, "b": b"\x00\x01"})
    [m] = await q.receive()
    assert m.message_id == mid
    assert m.json() == {"order": 1}
    assert m.attributes == {"s": "x", "n": 5, "f": 1.5, "b": b"\x00\x01"}
    assert m.receive_count == 1
    assert m.sent_at == datetime.fromtimestamp(clock.now(), UTC)
    assert m.first_received_at.tzinfo is not None
    await q.delete(m.receipt_handle)
    assert await q.receive() == []
    assert (await q.stats()).total == 0


async def test_visibility_timeout_hides_then_returns_with_new_handle(
    app: App, clock: FakeClock
) -> None:
    q = await app.get_queue("plain")
    await q.send("a")
    [first] = await q.receive(visibility_timeout=10)
    assert await q.receive() == []
    clock.advance(9.9)
    assert await q.receive() == []
    clock.advance(0.2)
    [again] = await q.receive()
    assert again.receipt_handle != first.receipt_handle
    assert again.receive_count == 2
    assert again.first_received_at == first.first_received_at


async def test_receipt_rules(app: App, clock: FakeClock) -> None:
    q = await app.get_queue("plain")
    await q.send("a")
    [old] = await q.receive(visibility_timeout=5)
    clock.advance(6)
    [new] = await q.receive(visibility_timeout=5)
    # Received again since: the old handle neither deletes nor changes visibility.
    with pytest.raises(ReceiptHandleIsInvalid):
        await q.delete(old.receipt_handle)
    with pytest.raises(ReceiptHandleIsInvalid):
        await q.change_visibility(old.receipt_handle, 10)
    # The lease expired and nobody received it again: delete still works.
    clock.advance(6)
    await q.delete(new.receipt_handle)
    # Deleting an already deleted message succeeds.
    await q.delete(new.receipt_handle)
    with pytest.raises(MessageNotInflight):
        await q.change_visibility(new.receipt_handle, 10)
    with pytest.raises(ReceiptHandleIsInvalid):
        await q.delete("garbage")
    other = await app.get_queue("q")
    with pytest.raises(ReceiptHandleIsInvalid):
        await other.delete(new.receipt_handle)


async def test_change_visibility_counts_from_the_call(app: App, clock: FakeClock) -> None:
    q = await app.get_queue("plain")
    await q.send("a")
    [m] = await q.receive(visibility_timeout=60)
    clock.advance(15)
    await q.change_visibility(m.receipt_handle, 10)
    clock.advance(9.5)
    assert await q.receive() == []
    clock.advance(1)
    [back] = await q.receive(visibility_timeout=0)
    assert back.message_id == m.message_id
    with pytest.raises(MessageNotInflight):
        await q.change_visibility(back.receipt_handle, 5)
    [m2] = await q.receive(visibility_timeout=43_000)
    clock.advance(300)
    with pytest.raises(InvalidAttribute) as err:
        await q.change_visibility(m2.receipt_handle, 43_200)
    assert err.value.field == "visibility_timeout"


async def test_delay_queue_and_message_delay(app: App, clock: FakeClock) -> None:
    q = await app.get_queue("plain")
    await q.send("late", delay=5)
    stats = await q.stats()
    assert (stats.visible, stats.delayed) == (0, 1)
    assert await q.receive() == []
    clock.advance(5)
    [m] = await q.receive()
    assert m.body == "late"


async def test_dead_letter_after_max_receive_count(app: App, clock: FakeClock) -> None:
    q, dlq = await app.get_queue("q"), await app.get_queue("dlq")
    mid = await q.send("poison")
    for count in (1, 2, 3):
        [m] = await q.receive(visibility_timeout=1)
        assert m.receive_count == count
        clock.advance(2)
    assert await q.receive() == []
    [dead] = await dlq.receive()
    assert dead.message_id == mid
    assert dead.body == "poison"


async def test_standard_dlq_keeps_enqueue_time_fifo_dlq_resets_it(
    app: App, clock: FakeClock
) -> None:
    q, dlq = await app.get_queue("q"), await app.get_queue("dlq")
    await q.send("x")
    for _ in range(3):
        await q.receive(visibility_timeout=1)
        clock.advance(100)
    assert await q.receive() == []
    assert (await dlq.stats()).oldest_age == pytest.approx(300, abs=1)
    f, fdlq = await app.get_queue("f.fifo"), await app.get_queue("f-dlq.fifo")
    await f.send("y", group_id="g", dedup_id="d")
    for _ in range(2):
        await f.receive(visibility_timeout=1)
        clock.advance(100)
    assert await f.receive() == []
    assert (await fdlq.stats()).oldest_age == pytest.approx(0, abs=1)


async def test_batches_fail_per_entry(app: App) -> None:
    q = await app.get_queue("plain")
    res = await q.send_batch(
        [
            {"id": "ok", "body": "fine"},
            {"id": "bad", "body": "nul\x00"},
            {"id": "late", "body": "x", "delay": 901},
        ]
    )
    assert [s[0] for s in res.successful] == ["ok"]
    assert {f[0]: f[1] for f in res.failed} == {
        "bad": "InvalidMessageContents",
        "late": "InvalidAttribute",
    }
    msgs = await q.receive(max_messages=10)
    res = await q.delete_batch(
        [
            {"id": "1", "receipt_handle": msgs[0].receipt_handle},
            {"id": "2", "receipt_handle": "junk"},
        ]
    )
    assert [s[0] for s in res.successful] == ["1"]
    assert [f[0] for f in res.failed] == ["2"]


@pytest.mark.parametrize(
    ("entries", "code"),
    [
        ([], "EmptyBatchRequest"),
        ([{"id": str(i), "body": "x"} for i in range(11)], "TooManyEntriesInBatchRequest"),
        ([{"id": "a", "body": "x"}, {"id": "a", "body": "y"}], "BatchEntryIdsNotDistinct"),
        ([{"id": "a b", "body": "x"}], "InvalidBatchEntryId"),
        ([{"id": str(i), "body": "x" * 600_000} for i in range(2)], "BatchRequestTooLong"),
    ],
)
async def test_malformed_batches(app: App, entries: list[dict[str, str]], code: str) -> None:
    q = await app.get_queue("plain")
    with pytest.raises(BatchRequestInvalid) as err:
        await q.send_batch(entries)
    assert err.value.code == code
    assert (await q.stats()).total == 0


async def test_message_limits(app: App) -> None:
    q = await app.get_queue("plain")
    with pytest.raises(MessageTooLarge):
        await q.send("x" * 1_048_577)
    with pytest.raises(InvalidMessageContents):
        await q.send("bad \ufffe char")
    with pytest.raises(InvalidAttribute) as err:
        await q.send("x", attributes={f"a{i}": "v" for i in range(11)})
    assert err.value.field == "attributes"
    with pytest.raises(InvalidAttribute):
        await q.receive(max_messages=11)
    with pytest.raises(InvalidAttribute):
        await q.receive(wait=21)
    assert (await q.stats()).total == 0


async def test_fifo_order_groups_and_in_flight_blocking(app: App) -> None:
    f = await app.get_queue("f.fifo")
    for i in range(6):
        await f.send(f"{'ab'[i % 2]}{i}", group_id="ab"[i % 2], dedup_id=str(i))
    first = await f.receive(max_messages=10)
    assert [m.body for m in first] == ["a0", "b1", "a2", "b3", "a4", "b5"]
    assert await f.receive(max_messages=10) == []
    # Release group a's head only: a2 and a4 are still in flight, so group a stays blocked.
    await f.change_visibility(first[0].receipt_handle, 0)
    assert await f.receive() == []
    for m in first[1:]:
        await f.delete(m.receipt_handle)
    [a0] = await f.receive(max_messages=10)
    assert a0.body == "a0"


async def test_fifo_deduplication(app: App, clock: FakeClock) -> None:
    f, cbd = await app.get_queue("f.fifo"), await app.get_queue("cbd.fifo")
    first = await f.send("x", group_id="g", dedup_id="d1")
    assert await f.send("other body", group_id="g", dedup_id="d1") == first
    one = await cbd.send("same", group_id="g")
    assert await cbd.send("same", group_id="h") == one
    clock.advance(301)
    assert await cbd.send("same", group_id="g") != one
    assert (await f.stats()).visible == 1
    with pytest.raises(MissingParameter) as err:
        await f.send("x", dedup_id="d")
    assert err.value.field == "group_id"
    with pytest.raises(MissingParameter) as err:
        await f.send("x", group_id="g")
    assert err.value.field == "dedup_id"


async def test_purge_removes_delayed_and_in_flight(app: App) -> None:
    q = await app.get_queue("plain")
    await q.send("now")
    await q.send("later", delay=100)
    await q.send("leased")
    await q.receive()
    assert await q.purge() == 3
    assert (await q.stats()).total == 0


async def test_retention_expiry(app: App, clock: FakeClock) -> None:
    q = await app.create_queue("short", retention=60)
    await q.send("old")
    clock.advance(61)
    assert await q.receive() == []
    await app.run_maintenance()
    assert (await q.stats()).total == 0


async def test_long_poll_wakes_on_send(app: App) -> None:
    q = await app.get_queue("plain")
    waiter = asyncio.create_task(q.receive(wait=20))
    await asyncio.sleep(0.05)
    assert not waiter.done()
    await q.send("hello")
    msgs = await asyncio.wait_for(waiter, timeout=5)
    assert [m.body for m in msgs] == ["hello"]


async def test_long_poll_wakes_when_a_lease_expires(app: App, clock: FakeClock) -> None:
    q = await app.get_queue("plain")
    await q.send("x")
    await q.receive(visibility_timeout=10)
    waiter = asyncio.create_task(q.receive(wait=20))
    await asyncio.sleep(0.05)
    assert not waiter.done()
    clock.advance(10)
    msgs = await asyncio.wait_for(waiter, timeout=5)
    assert [m.receive_count for m in msgs] == [2]


async def test_long_poll_returns_empty_at_deadline(app: App, clock: FakeClock) -> None:
    q = await app.get_queue("plain")
    waiter = asyncio.create_task(q.receive(wait=3))
    await asyncio.sleep(0.05)
    clock.advance(3)
    assert await asyncio.wait_for(waiter, timeout=5) == []


async def test_queue_admin(app: App) -> None:
    assert set(await app.list_queues()) >= {"q", "dlq", "plain", "f.fifo"}
    await app.update_queue("plain", visibility_timeout=5)
    assert (await app.get_queue("plain")).attributes.visibility_timeout == 5
    await app.delete_queue("plain")
    with pytest.raises(QueueDoesNotExist):
        await app.get_queue("plain")
    with pytest.raises(QueueDoesNotExist):
        await app.delete_queue("plain")


async def test_redeclaring_changes_only_passed_attributes(store_url: str) -> None:
    first = App("a", store_url)
    first.queue("orders", visibility_timeout=45, delay=3)
    async with first:
        pass
    second = App("a", store_url)
    second.queue("orders", delay=7)
    async with second:
        attrs = (await second.get_queue("orders")).attributes
        assert (attrs.visibility_timeout, attrs.delay) == (45, 7)
    third = App("a", store_url)
    third.queue("orders", retention=timedelta(days=1))
    async with third:
        assert (await third.get_queue("orders")).attributes.retention == 86_400
