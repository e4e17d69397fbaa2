"""A send landing between an idle consumer's empty claim and its nap must end the nap.

The race behind rare ~2 s send-to-handler samples (``IDLE_WAIT``): the claim looks before
the send commits, the send's wake-up arrives while no waiter is registered yet (the
consumer is between its claim and its wait) and finds nobody, and the nap that follows
sleeps out its whole limit. The consumer now takes the store's ``wake_mark`` before the
claim and waits ``since`` it, so a wake-up that found no waiter in between ends the wait
at once. The interleaving is driven in the racy order, not provoked with sleeps.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from typing import Any

from stormproof import App
from stormproof.core.queue_rules import QueueAttributes
from stormproof.engine.consumer import IDLE_WAIT, QueueConsumer
from stormproof.engine.leases import Holding, LeaseKeeper
from stormproof.engine.slots import Permits, Ticket
from stormproof.storage.base import ClaimedRow, Store

QUEUE = "work"
NOTIFY_PATIENCE = 5.0  # seconds for a NOTIFY to come back over LISTEN (PostgreSQL)


def _returns_at_once(wait: Coroutine[Any, Any, None]) -> bool:
    """Whether ``wait`` finishes without ever suspending (so it cannot sleep anything out)."""
    try:
        wait.send(None)
    except StopIteration:
        return True
    wait.close()  # it suspended: it would have slept until its timeout or a wake-up
    return False


async def _until_the_wake_up_found_nobody(store: Store, mark: int) -> None:
    """Wait for the send's wake-up itself (it comes over LISTEN on PostgreSQL)."""
    deadline = time.monotonic() + NOTIFY_PATIENCE
    while store.wake_mark([QUEUE]) == mark:
        assert time.monotonic() < deadline, "the send's wake-up never came"
        await asyncio.sleep(0.005)


async def test_a_send_between_an_empty_claim_and_the_wait_ends_the_wait(store_url: str) -> None:
    app = App("w", store_url)
    q = app.queue(QUEUE)
    async with app:
        store = app.store
        mark = store.wake_mark([QUEUE])
        assert await store.claim(QUEUE, q.attributes, 1, 30) == []
        await q.send("late")  # commits after the claim looked, while nobody waits
        await _until_the_wake_up_found_nobody(store, mark)
        # The old order (register after the claim, no mark) would sleep the wait out:
        assert not _returns_at_once(store.wait([QUEUE], 5.0))
        assert _returns_at_once(store.wait([QUEUE], 5.0, since=mark))
        assert [r.body for r in await store.claim(QUEUE, q.attributes, 1, 30)] == ["late"]


async def test_a_wake_up_a_waiter_took_leaves_the_mark_alone(store_url: str) -> None:
    app = App("w", store_url)
    q = app.queue(QUEUE)
    async with app:
        store = app.store
        mark = store.wake_mark([QUEUE])
        waiting = asyncio.ensure_future(store.wait([QUEUE], NOTIFY_PATIENCE))
        await asyncio.sleep(0)  # one loop step: the task registers its waiter and parks
        started = time.monotonic()
        await q.send("taken")
        await waiting
        assert time.monotonic() - started < NOTIFY_PATIENCE - 1, "the waiter was not woken"
        # Delivered, so other receivers' waits are not ended (no stampede of empty claims).
        assert store.wake_mark([QUEUE]) == mark
        assert not _returns_at_once(store.wait([QUEUE], 5.0, since=mark))


class _SendAfterEmptyClaim(QueueConsumer):
    """A consumer whose first empty claim is followed, at once, by a send to its queue."""

    def __init__(self, app: App, keeper: LeaseKeeper) -> None:
        super().__init__(app, keeper, Permits(1), QUEUE, [], unit_size=1, max_units=1)
        self.sent_at: float | None = None
        self.handled_at: float | None = None
        self.handled = asyncio.Event()

    async def _claim(self, attrs: QueueAttributes, units: int) -> list[ClaimedRow]:
        rows = await super()._claim(attrs, units)
        if not rows and self.sent_at is None:
            self.sent_at = time.monotonic()
            mark = self.app.store.wake_mark([QUEUE])
            await self.app.queue(QUEUE).send("raced")
            # Still inside the claim: the wake-up comes (SQLite hands it over with the
            # send's own result, PostgreSQL over LISTEN) and finds no waiter.
            await _until_the_wake_up_found_nobody(self.app.store, mark)
        return rows

    async def _process(self, rows: list[ClaimedRow], holding: Holding, ticket: Ticket) -> None:
        self.handled_at = time.monotonic()
        self.handled.set()


async def test_an_idle_consumer_handles_a_send_that_raced_its_claim_at_once(
    store_url: str,
) -> None:
    app = App("w", store_url)
    app.queue(QUEUE)
    async with app:
        keeper = LeaseKeeper(lambda: app.store, app.clock)
        consumer = _SendAfterEmptyClaim(app, keeper)
        running = asyncio.ensure_future(consumer.run())
        try:
            # The guard only bounds a failing run: before the fix it slept IDLE_WAIT.
            await asyncio.wait_for(consumer.handled.wait(), timeout=IDLE_WAIT + 3)
        finally:
            consumer.stop()
            await running
            await keeper.close()
        assert consumer.sent_at is not None and consumer.handled_at is not None
        late = consumer.handled_at - consumer.sent_at
        assert late < IDLE_WAIT / 2, f"handled {late:.2f} s after the send: the nap slept"


async def test_a_long_poll_receive_gets_a_send_that_raced_its_empty_claim(
    store_url: str,
) -> None:
    """``Queue.receive(wait=...)`` takes the mark before each claim too."""
    app = App("w", store_url)
    q = app.queue(QUEUE)
    async with app:
        store: Any = app.store
        real = store.claim_or_next
        raced: list[float] = []

        async def claim_then_send(*args: Any) -> Any:
            found = await real(*args)
            if not found[0] and not raced:
                raced.append(time.monotonic())
                mark = store.wake_mark([QUEUE])
                await q.send("raced")  # after the claim looked, before the wait registers
                await _until_the_wake_up_found_nobody(store, mark)
            return found

        store.claim_or_next = claim_then_send
        try:
            got = await q.receive(max_messages=1, wait=IDLE_WAIT * 2)
        finally:
            del store.claim_or_next
        assert [m.body for m in got] == ["raced"]
        late = time.monotonic() - raced[0]
        assert late < IDLE_WAIT / 2, f"received {late:.2f} s after the send: the wait slept"
