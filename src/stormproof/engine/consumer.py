"""Consumers: claim messages as capacity allows and run them through a function.

:class:`QueueConsumer` is the poll loop shared by event-source mappings
(:class:`~stormproof.functions.mapping_consumer.MappingConsumer`) and async invocations
(:class:`~stormproof.functions.invocations.InvocationConsumer`). One cycle:

1. take process permits (``worker --concurrency``), waiting for at least one;
2. take global slots (the function's reserved concurrency, the mapping's
   ``max_concurrency``) **before** claiming, so a throttle never claims a message and never
   grows a receive count (AWS claims first and lets throttled batches time out);
3. claim up to ``units x unit_size`` messages in one round trip and split them into units
   (one invocation each), run as tasks;
4. a unit keeps its permit until its completion is durable, so a worker killed at any
   moment holds at most ``--concurrency x batch size`` processed-but-undeleted messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Sequence
from contextlib import AbstractContextManager
from typing import TypeVar

from stormproof.core.backoff import Jitter, delay
from stormproof.core.queue_rules import QueueAttributes
from stormproof.engine import injection, tracing
from stormproof.engine.leases import Holding, LeaseKeeper
from stormproof.engine.runtime import Runtime
from stormproof.engine.slots import Permits, SlotPool, Ticket, honour_cancellation, reserve
from stormproof.engine.waiting import nap_until_visible
from stormproof.storage.base import ClaimedRow, Lease

log = logging.getLogger("stormproof.engine.consumer")
T = TypeVar("T")

IDLE_WAIT = 2.0  # longest nap of an idle consumer between claims
THROTTLE_BASE = 0.05
THROTTLE_CAP = 0.25


def leases_of(rows: Sequence[ClaimedRow]) -> list[Lease]:
    """The leases of claimed rows."""
    return [Lease(r.rowid, r.token) for r in rows]


class QueueConsumer:
    """The poll loop over one queue (see the module docstring); subclasses run the units."""

    def __init__(
        self,
        app: Runtime,
        keeper: LeaseKeeper,
        permits: Permits,
        queue: str,
        pools: Sequence[SlotPool],
        *,
        unit_size: int,
        max_units: int,
        rng: random.Random | None = None,
    ) -> None:
        self.app = app
        self.keeper = keeper
        self.permits = permits
        self.queue = queue
        self.pools = list(pools)
        self.unit_size = unit_size
        self.max_units = max_units
        self.rng = rng or random.Random()
        self.inflight: set[asyncio.Task[None]] = set()
        self.stopping = asyncio.Event()
        self._throttles = 0
        self._wake_mark: int | None = None  # taken before the last claim (see _dispatch)

    # --- the loop --------------------------------------------------------------------

    async def run(self) -> None:
        """Poll until :meth:`stop`."""
        while not self.stopping.is_set():
            try:
                await self._cycle()
            except Exception:
                honour_cancellation()
                log.exception("event=consumer.error queue=%s", self.queue)
                await self._unless_stopped(self.app.clock.sleep(1.0))

    def stop(self) -> None:
        """Stop claiming (units already running go on)."""
        self.stopping.set()

    async def _cycle(self) -> None:
        n = self.permits.try_acquire(self.max_units)
        if not n:
            n = await self._unless_stopped(self.permits.acquire(self.max_units)) or 0
        if self.stopping.is_set():
            self.permits.release(n)
            return
        if not n:
            return
        tickets = await self._tickets(n)
        if not tickets:
            await self._throttled()
            return
        self._throttles = 0
        if not await self._claim_and_dispatch(tickets):
            await self._idle()

    async def poll_once(self) -> int:
        """Claim once with the capacity free right now and start the units; messages claimed."""
        n = self.permits.try_acquire(self.max_units)
        if not n:
            return 0
        tickets = await self._tickets(n)
        return await self._claim_and_dispatch(tickets) if tickets else 0

    async def _tickets(self, n: int) -> list[Ticket]:
        return await reserve(self.permits, self.pools, n)

    async def _claim_and_dispatch(self, tickets: list[Ticket]) -> int:
        claimed, unused = await self._dispatch(tickets)
        for ticket in unused:
            ticket.finish()
        return claimed

    async def _dispatch(self, tickets: list[Ticket]) -> tuple[int, list[Ticket]]:
        """Claim for ``tickets`` and start the units; messages claimed and tickets unused
        (still held: the caller finishes them, or offers them to another queue)."""
        # Before the claim, so a send it misses wakes the nap after it (wait_for_messages).
        self._wake_mark = self.app.store.wake_mark([self.queue])
        try:
            attrs = self.app.attributes_of(self.queue)
            rows = await self._claim(attrs, len(tickets))
        except BaseException:
            for ticket in tickets:
                ticket.finish()
            raise
        units = self._split(rows) if rows else []
        loop = asyncio.get_running_loop()
        for unit, ticket in zip(units, tickets, strict=False):
            holding = self.keeper.hold(self.queue, attrs.visibility_timeout, leases_of(unit))
            task = loop.create_task(self._run_unit(unit, holding, ticket))
            self.inflight.add(task)
            task.add_done_callback(self.inflight.discard)
        return len(rows), tickets[len(units) :]

    async def _claim(self, attrs: QueueAttributes, units: int) -> list[ClaimedRow]:
        n = units * self.unit_size
        return await self.app.store.claim(self.queue, attrs, n, attrs.visibility_timeout)

    def _split(self, rows: list[ClaimedRow]) -> list[list[ClaimedRow]]:
        size = self.unit_size
        return [rows[i : i + size] for i in range(0, len(rows), size)]

    async def _run_unit(self, rows: list[ClaimedRow], holding: Holding, ticket: Ticket) -> None:
        try:
            if injection.injector is not None:  # chaos: the worker may SIGKILL itself here
                await injection.injector.strike("worker")
            with self.traced(rows):
                await self._process(rows, holding, ticket)
        except Exception:
            log.exception("event=consumer.unit_error queue=%s", self.queue)
        finally:
            self.keeper.forget(holding)
            ticket.finish()

    async def _process(self, rows: list[ClaimedRow], holding: Holding, ticket: Ticket) -> None:
        raise NotImplementedError

    def traced(self, rows: list[ClaimedRow]) -> AbstractContextManager[None]:
        """The trace context a unit runs in: a ``process`` span linking its messages' ones."""
        return tracing.processing_rows(self.queue, rows)

    # --- waiting ---------------------------------------------------------------------

    async def _throttled(self) -> None:
        self._throttles += 1
        wait = delay(
            min(self._throttles - 1, 30),
            base=THROTTLE_BASE,
            cap=THROTTLE_CAP,
            jitter=Jitter.FULL,
            rng=self.rng,
        )
        await self._unless_stopped(self.app.clock.sleep(max(wait, THROTTLE_BASE / 5)))

    async def _idle(self) -> None:
        await self.wait_for_messages(IDLE_WAIT)

    async def wait_for_messages(self, limit: float) -> None:
        """Nap until a message may be visible (a send, a delay or a lease running out)."""
        # The mark serves one nap: a later nap (a batch window's) must not end at once on
        # a wake-up its own claims since then have already seen.
        mark, self._wake_mark = self._wake_mark, None
        await self._unless_stopped(
            nap_until_visible(self.app.store, self.app.clock, self.queue, limit, since=mark)
        )

    async def _unless_stopped(self, work: Awaitable[T]) -> T | None:
        """Await ``work`` unless :meth:`stop` comes first (then cancel it and return None)."""
        task = asyncio.ensure_future(work)
        stop = asyncio.ensure_future(self.stopping.wait())
        try:
            await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        return None if task.cancelled() else task.result()
