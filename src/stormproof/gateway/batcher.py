"""Group commit of the front door's units of work, coalesced into few statements.

Concurrent requests each hand their unit to :meth:`UnitBatcher.apply`; the units that
arrive while a transaction is in flight are committed together in the next, as one
atomic unit. Each unit is independent (its own request record and work), so if the joint
transaction fails (an idempotency key taken concurrently, say), the units are applied
again one by one and each caller gets its own unit's outcome. A caller's ``await``
returns only after its unit committed: nothing is answered before it is durable.

Units made only of new state records and sends (a queue or function route) are not just
concatenated but coalesced (:func:`coalesce`): every record of the group in one multi-row
insert and every message for one queue in one send, so a group of a hundred requests
costs a handful of statements, not two hundred. That is what keeps the storage-first
route near the plain one's throughput: on PostgreSQL each statement of a transaction is a
round trip, and on SQLite each is Python work on the writer thread, which shares the GIL
with the event loop.

One joint transaction is in flight at a time (:data:`MAX_FLUSHERS`): the units arriving
while it commits make the next one. A second one in flight measured worse (it starts as
soon as one unit waits, so groups of one or two alternate with large ones). The queue of
units waiting for a transaction is bounded (``max_pending``): past it a request is refused
at once with ``TooManyRequests`` (429 with ``Retry-After``) rather than held in memory
while the store falls behind.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Sequence
from dataclasses import replace

from stormproof.core import trace_context
from stormproof.core.queue_rules import OutgoingMessage
from stormproof.errors import InvalidAttribute, TooManyRequests
from stormproof.storage.base import CompareAndSet, Enqueue, Operation, Store
from stormproof.storage.commit_queue import CommitQueue, Unit
from stormproof.storage.state_bulk_ops import InsertStates

MAX_UNITS = 256  # units per joint transaction
MAX_PENDING = 4 * MAX_UNITS  # units waiting for a transaction; beyond: 429
MAX_FLUSHERS = 1  # joint transactions in flight at once
RETRY_AFTER = 1.0  # seconds a refused caller is told to wait
_Unit = Unit[None]


def _coalescible(unit: Sequence[Operation]) -> bool:
    return all(
        (type(op) is CompareAndSet and op.expected_version is None) or type(op) is Enqueue
        for op in unit
    )


def _stamped(op: Enqueue) -> list[OutgoingMessage]:
    """The messages with the operation's trace context written into their attributes
    (a merged send carries one trace for all; each request's must stay its own)."""
    if op.trace is None:
        return list(op.messages)
    return [replace(m, attributes=trace_context.stamp(m.attributes, op.trace)) for m in op.messages]


def coalesce(units: Sequence[Sequence[Operation]]) -> list[Operation]:
    """One unit equivalent to applying ``units`` in turn: their new records in one insert,
    their sends merged per queue, every other unit's operations as they are."""
    records: list[tuple[str, str]] = []
    sends: dict[tuple[str, float, bool], tuple[list[OutgoingMessage], list[str]]] = {}
    rest: list[Operation] = []
    for unit in units:
        if not _coalescible(unit):
            rest.extend(unit)
            continue
        for op in unit:
            if isinstance(op, CompareAndSet):
                records.append((op.key, op.value))
            elif isinstance(op, Enqueue):
                messages, ids = sends.setdefault((op.queue, op.dedup_window, op.fifo), ([], []))
                messages.extend(_stamped(op))
                ids.extend(op.ids)
    merged: list[Operation] = [InsertStates(records)] if records else []
    # Built outside any request's context: Enqueue would otherwise adopt its trace. Each
    # message keeps the id its request's operation drew, so the group applied unit by
    # unit after a failed joint commit stores the same ids (and none is drawn twice).
    for (queue, window, fifo), (messages, ids) in sends.items():
        merged.append(
            contextvars.Context().run(Enqueue, queue, messages, window, fifo, None, tuple(ids))
        )
    return [*merged, *rest]


class UnitBatcher:
    """Commits concurrently submitted atomic units in shared transactions."""

    def __init__(self, store: Callable[[], Store], max_pending: int = MAX_PENDING) -> None:
        if isinstance(max_pending, bool) or not isinstance(max_pending, int) or max_pending < 1:
            raise InvalidAttribute("max_pending", max_pending, "a whole number of at least 1")
        self._store = store
        self.max_pending = max_pending
        self._queue: CommitQueue[None] = CommitQueue(
            self._commit, MAX_UNITS, MAX_FLUSHERS, own_context=True
        )

    async def apply(self, unit: Sequence[Operation]) -> None:
        """Commit ``unit`` atomically (maybe with others); raises what it alone would,
        or ``TooManyRequests`` when ``max_pending`` units already wait."""
        waiting = self._queue.waiting
        if waiting >= self.max_pending:
            raise TooManyRequests(
                f"the front door's commit queue holds {waiting} requests "
                f"(its bound, max_pending={self.max_pending})",
                retry_after=RETRY_AFTER,
                limit="buffer",
            )
        await self._queue.submit(unit)

    async def _commit(self, batch: list[_Unit]) -> None:
        if len(batch) == 1:
            await self._one(*batch[0])
            return
        try:
            await self._store().apply(coalesce([unit for unit, _ in batch]), atomic=True)
        except Exception:  # one unit sank the joint commit: each on its own
            await asyncio.gather(*(self._one(unit, future) for unit, future in batch))
            return
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
