"""Group commit of concurrent sends on PostgreSQL: many producers share one transaction.

Every commit waits for the WAL to reach the disk, so N coroutines (or API requests)
sending at once pay N flushes when each has its own transaction. Here a send joins a
queue; at most :data:`MAX_FLUSHERS` flushers take everything queued (up to
:data:`MAX_UNITS` sends) and apply it as one unit, then hand each sender its own results.
The SQLite writer does the same with its commit groups.

A plain send reads nothing and cannot be stale, so sharing a transaction changes no
result. If the shared transaction fails for a reason other than the store being
unreachable, each send is retried alone, so one send's failure stays its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from stormproof.errors import StoreError, StoreUnavailable
from stormproof.storage.base import Operation, OpResult
from stormproof.storage.commit_queue import CommitQueue, Unit

MAX_FLUSHERS = 2  # shared transactions in flight at once (one commits, one fills)
MAX_UNITS = 64  # sends per shared transaction: bounds its size and its latency
Apply = Callable[[Sequence[Operation]], Awaitable[list[OpResult]]]
_Unit = Unit[list[OpResult]]


class GroupCommit:
    """Applies plain sends through ``apply`` in shared transactions."""

    def __init__(self, apply: Apply) -> None:
        self._apply = apply
        self._queue: CommitQueue[list[OpResult]] = CommitQueue(
            self._commit, MAX_UNITS, MAX_FLUSHERS
        )

    async def send(self, ops: Sequence[Operation]) -> list[OpResult]:
        """Apply ``ops`` (plain sends) in a transaction shared with concurrent sends."""
        return await self._queue.submit(ops)

    async def _commit(self, units: list[_Unit]) -> None:
        flat = [op for ops, _ in units for op in ops]
        try:
            results = await self._apply(flat)
        except StoreError as exc:
            if len(units) == 1 or isinstance(exc, StoreUnavailable):
                _fail(units, exc)
                return
            for unit in units:  # one send's failure must not be the others'
                await self._commit([unit])
            return
        except Exception as exc:
            _fail(units, exc)
            return
        start = 0
        for ops, future in units:
            if not future.done():  # its sender may have been cancelled meanwhile
                future.set_result(results[start : start + len(ops)])
            start += len(ops)


def _fail(units: list[_Unit], exc: BaseException) -> None:
    for _, future in units:
        if not future.done():
            future.set_exception(exc)
