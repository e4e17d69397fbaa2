"""Concurrency: per-process permits and global slots leased from the store.

Three knobs limit how many executions run at once (docs/functions.md shows them side by side):

* ``stormproof worker --concurrency N``: :class:`Permits`, per worker process;
* a function's ``concurrency`` (reserved concurrency): a :class:`SlotPool` named
  ``fn:<function>``, global across every process on every host;
* a mapping's ``max_concurrency``: a :class:`SlotPool` named ``esm:<queue>:<function>``,
  global too.

A slot pool is a named semaphore in the store whose slots are leased (``AcquireSlots``) for
:data:`SLOT_TTL` seconds and renewed by a ticker while held, so the slots of a process that
dies come back on their own. To avoid a round trip per call, a process keeps the slots it
was granted (its *allotment*) for :data:`LINGER` seconds after they fall idle and reuses them
locally; idle slots are then given back so other processes can have them.

A busy process would keep its allotment for ever, so sharing is signalled: a process that
is throttled writes a *demand* state record (at most once per :data:`DEMAND_EVERY` s), and a
holder that sees another process's recent demand *yields* for :data:`YIELD_FOR` seconds: it
takes no new slots and gives each back as soon as it is idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from stormproof.clock import Clock
from stormproof.storage.base import (
    AcquireSlots,
    CompareAndSet,
    DeleteState,
    ExtendSlots,
    ReleaseSlots,
    Store,
)

SLOT_TTL = 10.0  # seconds a slot lease lasts without renewal
RENEW_AFTER = SLOT_TTL / 4  # held slots are renewed this often
LINGER = 0.25  # idle slots are kept this long for local reuse
TICK = 0.1  # how often the ticker looks at the pools
DEMAND_EVERY = 1.0  # a throttled process announces its demand at most this often
YIELD_FOR = 0.5  # a holder that sees another's demand yields its slots this long

log = logging.getLogger("stormproof.engine.slots")


def honour_cancellation() -> None:
    """Raise ``CancelledError`` if this task was asked to stop.

    A driver may turn a cancellation into its own error, which a loop that logs and goes on
    would swallow; loops call this after catching errors so ``cancel()`` still stops them.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class Permits:
    """A process-local counting semaphore that hands out several permits at once."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.free = total
        self._waiters: deque[asyncio.Future[None]] = deque()

    def try_acquire(self, want: int) -> int:
        """Take up to ``want`` free permits without waiting; returns how many."""
        n = max(0, min(want, self.free))
        self.free -= n
        return n

    async def acquire(self, want: int) -> int:
        """Wait until at least one permit is free, then take up to ``want``."""
        while self.free <= 0:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
        return self.try_acquire(want)

    def release(self, n: int = 1) -> None:
        """Give ``n`` permits back and wake the waiters."""
        self.free += n
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)


class SlotPool:
    """This process's allotment of one named global semaphore (see the module docstring)."""

    def __init__(
        self, store: Callable[[], Store], clock: Clock, name: str, limit: int, holder: str
    ) -> None:
        self.name = name
        self.limit = limit
        self.holder = holder
        self.held: set[int] = set()
        self.in_use = 0
        self._store = store
        self._clock = clock
        self._idle_since: float | None = None
        self._renewed_at = 0.0
        self._demand_sent = float("-inf")
        self._demand_read = float("-inf")
        self._yield_until = float("-inf")

    @property
    def demand_key(self) -> str:
        """The state record where throttled processes announce demand for this pool."""
        return f"slots-demand/{self.name}"

    @property
    def idle(self) -> int:
        """Slots held but not in use."""
        return max(0, len(self.held) - self.in_use)

    async def acquire(self, want: int) -> int:
        """Take up to ``want`` slots now (local ones first); returns how many (0: throttled)."""
        if want <= 0 or self.limit <= 0:
            return 0
        if self._clock.now() < self._yield_until:
            return 0
        take = min(want, self.idle)
        self.in_use += take
        need = min(want - take, self.limit - len(self.held))
        if need > 0:
            try:
                op = AcquireSlots(self.name, self.limit, self.holder, need, SLOT_TTL)
                result = await self._store().apply([op])
            except BaseException:
                self.in_use -= take
                raise
            granted = [int(str(v)) for v in result[0].values]
            if not self.held:
                self._renewed_at = self._clock.now()
            self.held.update(granted)
            self.in_use += len(granted)
            take += len(granted)
        if self.idle == 0:
            self._idle_since = None
        if take == 0 and not self.held:  # a process holding slots is served already
            await self._announce_demand()
        return take

    async def _announce_demand(self) -> None:
        now = self._clock.now()
        if now - self._demand_sent < DEMAND_EVERY:
            return
        self._demand_sent = now
        value = json.dumps({"holder": self.holder, "at": now})
        await self._store().apply(
            [DeleteState(self.demand_key), CompareAndSet(self.demand_key, None, value)]
        )

    async def _check_demand(self, now: float) -> None:
        self._demand_read = now
        record = await self._store().get_state(self.demand_key)
        if record is None:
            return
        demand = json.loads(record.value)
        if demand.get("holder") != self.holder and now - float(demand["at"]) < 2 * DEMAND_EVERY:
            self._yield_until = now + YIELD_FOR

    def release(self, n: int = 1) -> None:
        """Stop using ``n`` slots; they stay in the allotment for :data:`LINGER` seconds."""
        self.in_use = max(0, self.in_use - n)
        if self.idle and self._idle_since is None:
            self._idle_since = self._clock.now()

    async def tick(self) -> None:
        """Give back slots idle for longer than :data:`LINGER` (at once while yielding);
        renew the rest when due; look for other processes' demand while holding slots."""
        now = self._clock.now()
        if self.held and now - self._demand_read >= DEMAND_EVERY:
            await self._check_demand(now)
        linger = 0.0 if now < self._yield_until else LINGER
        if self.idle and self._idle_since is not None and now - self._idle_since >= linger:
            drop = sorted(self.held)[: self.idle]
            self.held.difference_update(drop)
            self._idle_since = None
            await self._store().apply([ReleaseSlots(self.name, self.holder, drop)])
        if self.held and now - self._renewed_at >= RENEW_AFTER:
            await self.renew()

    async def renew(self) -> None:
        """Extend every held slot's lease; slots found lost are dropped from the allotment."""
        slots = sorted(self.held)
        self._renewed_at = self._clock.now()
        result = await self._store().apply([ExtendSlots(self.name, self.holder, slots, SLOT_TTL)])
        lost = set(slots) - {int(str(v)) for v in result[0].values}
        if lost:
            self.held.difference_update(lost)
            log.warning("event=slots.lost pool=%s slots=%s", self.name, sorted(lost))

    async def release_all(self) -> None:
        """Give every held slot back (closing)."""
        slots, self.held = sorted(self.held), set()
        self.in_use = 0
        if slots:
            await self._store().apply([ReleaseSlots(self.name, self.holder, slots)])


class Ticket:
    """One execution's share of capacity: a process permit and one slot of each pool.

    The permit is given back when the execution's work is durable; the slots when its handler
    has really stopped (a timed-out thread keeps them until it ends): :meth:`hold_slots_until`.
    """

    __slots__ = ("_permit_done", "_slots_deferred", "_slots_done", "permits", "pools")

    def __init__(self, permits: Permits | None, pools: Sequence[SlotPool]) -> None:
        self.permits = permits
        self.pools = tuple(pools)
        self._permit_done = permits is None
        self._slots_done = not pools
        self._slots_deferred = False

    def release_permit(self) -> None:
        """Give the process permit back (once)."""
        if not self._permit_done and self.permits is not None:
            self._permit_done = True
            self.permits.release(1)

    def release_slots(self) -> None:
        """Give the global slots back (once)."""
        if not self._slots_done:
            self._slots_done = True
            for pool in self.pools:
                pool.release(1)

    def hold_slots_until(self, finished: asyncio.Future[Any]) -> None:
        """Keep the slots until ``finished`` is done (the handler really stopped)."""
        self._slots_deferred = True
        if finished.done():
            self.release_slots()
        else:
            finished.add_done_callback(lambda _: self.release_slots())

    def finish(self) -> None:
        """The unit is over: the permit goes back, and the slots unless held past it."""
        self.release_permit()
        if not self._slots_deferred:
            self.release_slots()


async def reserve(permits: Permits | None, pools: Sequence[SlotPool], want: int) -> list[Ticket]:
    """Take capacity for up to ``want`` executions: permits already taken, then slots.

    ``permits`` must already hold ``want`` permits taken by the caller; the ones not matched
    by slots of every pool are given back. An empty list means throttled.
    """
    n = want
    taken: list[tuple[SlotPool, int]] = []
    try:
        for pool in pools:
            got = await pool.acquire(n)
            taken.append((pool, got))
            n = min(n, got)
            if n == 0:
                break
    except BaseException:
        n = 0
        raise
    finally:
        for pool, got in taken:
            if got > n:
                pool.release(got - n)
        if permits is not None and want > n:
            permits.release(want - n)
    return [Ticket(permits, pools) for _ in range(n)]


class Concurrency:
    """The slot pools of one app in this process, and the ticker that renews them."""

    def __init__(self, store: Callable[[], Store], clock: Callable[[], Clock], holder: str) -> None:
        self._store = store
        self._clock = clock  # read on use: tests may swap the app's clock
        self.holder = holder
        self.pools: dict[str, SlotPool] = {}
        self._ticker: asyncio.Task[None] | None = None

    def pool(self, name: str, limit: int) -> SlotPool:
        """The pool for a named semaphore (created on first use; starts the ticker)."""
        pool = self.pools.get(name)
        if pool is None:
            pool = SlotPool(self._store, self._clock(), name, limit, self.holder)
            self.pools[name] = pool
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.get_running_loop().create_task(
                self._tick_forever(), name="stormproof-slots"
            )
        return pool

    async def tick(self) -> None:
        """One pass over every pool (tests call it directly with a fake clock)."""
        for pool in list(self.pools.values()):
            try:
                await pool.tick()
            except Exception:
                honour_cancellation()
                log.exception("event=slots.tick_failed pool=%s", pool.name)

    async def _tick_forever(self) -> None:
        while True:
            await self._clock().sleep(TICK)
            await self.tick()

    async def close(self) -> None:
        """Stop the ticker and give every slot back."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        for pool in list(self.pools.values()):
            with contextlib.suppress(Exception):
                await pool.release_all()
