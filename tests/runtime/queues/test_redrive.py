"""DLQ redrive tasks: status, rate, cancel, one per queue, takeover after a crash."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from stormproof import App, Queue
from stormproof.errors import InvalidAttribute, QueueDoesNotExist, RedriveTaskConflict
from stormproof.queues.queue import Queue as QueueType
from stormproof.testing import FakeClock


def declare(app: App) -> tuple[Queue, Queue]:
    dlq = app.queue("dlq")
    src = app.queue("src", dead_letter=dlq, max_receive_count=1)
    app.queue("elsewhere")
    return src, dlq


async def dead_letter(src: QueueType, clock: FakeClock | None, n: int) -> None:
    for start in range(0, n, 10):
        await src.send_batch([{"id": str(i), "body": f"m{i}"} for i in range(start, start + 10)])
    while await src.receive(max_messages=10, visibility_timeout=0):
        pass


@pytest.fixture
async def app(store_url: str) -> AsyncIterator[App]:
    app = App("t", store_url)
    declare(app)
    async with app:
        yield app


async def test_redrive_returns_messages_fresh(app: App) -> None:
    src, dlq = await app.get_queue("src"), await app.get_queue("dlq")
    await dead_letter(src, None, 30)
    assert (await dlq.stats()).visible == 30
    task = await dlq.start_redrive()
    status = await task.wait(timeout=30)
    assert (status.state, status.moved, status.to_move) == ("COMPLETED", 30, 30)
    msgs = await src.receive(max_messages=10)
    assert all(m.receive_count == 1 for m in msgs)
    assert all("stormproof.OriginalMessageId" in m.attributes for m in msgs)
    assert (await dlq.stats()).total == 0


async def test_redrive_to_a_destination_and_bad_arguments(app: App) -> None:
    src, dlq = await app.get_queue("src"), await app.get_queue("dlq")
    elsewhere = await app.get_queue("elsewhere")
    await dead_letter(src, None, 10)
    with pytest.raises(InvalidAttribute):
        await dlq.start_redrive(rate=501)
    with pytest.raises(QueueDoesNotExist):
        await dlq.start_redrive(destination="nope")
    status = await (await dlq.start_redrive(destination=elsewhere)).wait(timeout=30)
    assert status.state == "COMPLETED"
    assert (await elsewhere.stats()).visible == 10


async def test_rate_limit_one_task_per_queue_and_cancel(app: App) -> None:
    src, dlq = await app.get_queue("src"), await app.get_queue("dlq")
    await dead_letter(src, None, 40)
    task = await dlq.start_redrive(rate=10)
    with pytest.raises(RedriveTaskConflict):
        await dlq.start_redrive()
    await asyncio.sleep(0.3)
    status = await task.cancel()
    assert status.state in ("CANCELLING", "CANCELLED")
    final = await task.wait(timeout=10)
    assert final.state == "CANCELLED"
    assert 0 < final.moved < 40  # already-moved messages stay moved
    assert (await src.stats()).visible == final.moved


async def test_a_task_whose_owner_died_is_resumed_by_another_process(store_url: str) -> None:
    clock = FakeClock()
    first = App("t", store_url, clock=clock)
    src, dlq = declare(first)
    async with first:
        await dead_letter(src, clock, 20)
        task = await dlq.start_redrive(rate=5)
        await asyncio.sleep(0.2)  # one chunk of 5 moves, then the runner waits on the clock
        # The runner dies without a word (as with SIGKILL): its lease is not given up.
        for runner in first.redrives._runners.values():
            runner.cancel()
        await asyncio.gather(*first.redrives._runners.values(), return_exceptions=True)
        first.redrives._runners.clear()
    # The first process is gone; its task is still RUNNING under an expired-to-be lease.
    second = App("t", store_url, clock=clock)
    declare(second)
    async with second:
        dlq2 = await second.get_queue("dlq")
        orphan = await dlq2.app.redrives.load("dlq")
        assert orphan is not None and orphan[1].state == "RUNNING"
        assert await second.redrives.resume_orphans() == 0  # the lease is still valid
        clock.advance(31)
        # The maintenance pass woken by the advance may take the task first; either way
        # it is this process's now.
        resumed = await second.redrives.resume_orphans()
        owner = (await second.redrives.load("dlq"))[1].owner  # type: ignore[index]
        assert resumed == 1 or owner == second.instance_id
        for _ in range(200):
            status = (await second.redrives.load("dlq"))[1]  # type: ignore[index]
            if status.state == "COMPLETED":
                break
            clock.advance(1)
            await asyncio.sleep(0.01)
        assert status.state == "COMPLETED" and status.moved == 20
        assert status.task_id == task.task_id
        assert (await (await second.get_queue("src")).stats()).visible == 20


async def test_fifo_ness_cannot_change(store_url: str) -> None:
    first = App("t", store_url)
    first.queue("orders")
    async with first:
        pass
    second = App("t", store_url)
    with pytest.raises(InvalidAttribute):
        second.queue("orders", fifo=True)
    with pytest.raises(InvalidAttribute):
        second.queue("orders.fifo", fifo=False)


async def test_a_cleanly_closed_owner_hands_its_task_over_at_once(store_url: str) -> None:
    clock = FakeClock()
    first = App("t", store_url, clock=clock)
    src, dlq = declare(first)
    async with first:
        await dead_letter(src, clock, 20)
        await dlq.start_redrive(rate=5)
        await asyncio.sleep(0.2)
    second = App("t", store_url, clock=clock)
    declare(second)
    async with second:
        assert await second.redrives.resume_orphans() == 1


async def test_messages_without_a_source_fail_the_task(app: App) -> None:
    dlq = await app.get_queue("dlq")
    await dlq.send("sent to the DLQ directly")
    status = await (await dlq.start_redrive()).wait(timeout=30)
    assert status.state == "FAILED"
    assert status.failure_reason is not None and "destination" in status.failure_reason
    moved = await (await dlq.start_redrive(destination="elsewhere")).wait(timeout=30)
    assert (moved.state, moved.moved) == ("COMPLETED", 1)


async def test_an_in_flight_dlq_message_is_waited_for_not_failed(app: App) -> None:
    # Issue 11 item 5: someone looked at the DLQ message just before the redrive.
    src, dlq = await app.get_queue("src"), await app.get_queue("dlq")
    await dead_letter(src, None, 10)
    [peeked] = await dlq.receive(visibility_timeout=1)
    status = await (await dlq.start_redrive()).wait(timeout=30)
    assert (status.state, status.moved, status.to_move) == ("COMPLETED", 10, 10), status
    assert status.failure_reason is None
    assert (await dlq.stats()).visible + (await dlq.stats()).in_flight == 0
    assert peeked.body in {m.body for m in await src.receive(max_messages=10)} | {
        m.body for m in await src.receive(max_messages=10)
    }


async def test_a_queue_that_is_no_dlq_needs_a_destination(app: App) -> None:
    elsewhere = await app.get_queue("elsewhere")
    await elsewhere.send("x")
    with pytest.raises(InvalidAttribute, match="no queue's dead-letter queue"):
        await elsewhere.start_redrive()
    assert await app.store.get_state("redrive/elsewhere") is None  # no FAILED task recorded
    moved = await (await elsewhere.start_redrive(destination="src")).wait(timeout=30)
    assert (moved.state, moved.moved) == ("COMPLETED", 1)
