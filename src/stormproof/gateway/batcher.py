"""Group commit of the front door's units of work, for stores without one of their own.

Concurrent requests each hand their unit to :meth:`UnitBatcher.apply`; the units that
arrive while one transaction is in flight are committed together in the next, as one
atomic unit. Each unit is independent (its own request record and work), so if the joint
transaction fails (an idempotency key taken concurrently, say), the units are applied
again one by one and each caller gets its own unit's outcome. A caller's ``await``
returns only after its unit committed: nothing is answered before it is durable.

The SQLite writer already commits concurrent units together, so this is used on
PostgreSQL, where otherwise each request pays a transaction (a WAL flush) of its own.

The queue of units waiting for a transaction is bounded (``max_pending``): past it a
request is refused at once with ``TooManyRequests`` (429 with ``Retry-After``) rather than
held in memory while the store falls behind.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from stormproof.errors import InvalidAttribute, TooManyRequests
from stormproof.storage.base import Operation, Store

MAX_UNITS = 256  # units per joint transaction
MAX_PENDING = 4 * MAX_UNITS  # units waiting for a transaction; beyond: 429
RETRY_AFTER = 1.0  # seconds a refused caller is told to wait


class UnitBatcher:
    """Commits concurrently submitted atomic units in shared transactions."""

    def __init__(self, store: Callable[[], Store], max_pending: int = MAX_PENDING) -> None:
        if isinstance(max_pending, bool) or not isinstance(max_pending, int) or max_pending < 1:
            raise InvalidAttribute("max_pending", max_pending, "a whole number of at least 1")
        self._store = store
        self.max_pending = max_pending
        self._pending: list[tuple[Sequence[Operation], asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def apply(self, unit: Sequence[Operation]) -> None:
        """Commit ``unit`` atomically (maybe with others); raises what it alone would,
        or ``TooManyRequests`` when ``max_pending`` units already wait."""
        if len(self._pending) >= self.max_pending:
            raise TooManyRequests(
                f"the front door's commit queue holds {len(self._pending)} requests "
                f"(its bound, max_pending={self.max_pending})",
                retry_after=RETRY_AFTER,
                limit="buffer",
            )
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((unit, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush())
        await future

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:MAX_UNITS], self._pending[MAX_UNITS:]
            if len(batch) == 1:
                await self._one(*batch[0])
                continue
            try:
                await self._store().apply([op for unit, _ in batch for op in unit], atomic=True)
            except Exception:  # one unit sank the joint commit: each on its own
                await asyncio.gather(*(self._one(unit, future) for unit, future in batch))
                continue
            for _, future in batch:
                if not future.done():
                    future.set_result(None)

    async def _one(self, unit: Sequence[Operation], future: asyncio.Future[None]) -> None:
        try:
            await self._store().apply(unit, atomic=True)
        except Exception as exc:
            if not future.done():
                future.set_exception(exc)
            return
        if not future.done():
            future.set_result(None)
