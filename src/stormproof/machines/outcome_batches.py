"""Task outcomes of many executions committed in one transaction (PostgreSQL).

Each task commits its outcome with its execution's next step in one atomic unit
(:mod:`stormproof.machines.tasks`). On PostgreSQL every unit is a transaction of its own,
with its BEGIN, COMMIT and WAL flush; a consumer running many executions' tasks at once
pays that for each. Here the units that are ready together share one transaction: a
unit joins a queue, at most :data:`MAX_FLUSHERS` flushers take what is queued (up to
:data:`MAX_UNITS` units) and apply it as one atomic unit.

Sharing must not change any unit's result: if the shared unit is stale (a version or a
lease one of them expected has moved, which rolls everything back) or fails, each unit
is applied again alone and gets its own result or error. The SQLite writer already
commits concurrent units in groups, each in its own savepoint, so there units go to the
store directly.
"""

from __future__ import annotations

from collections.abc import Sequence

from stormproof.errors import StaleLease, StoreError, StoreUnavailable
from stormproof.storage.base import Operation, Store
from stormproof.storage.commit_queue import CommitQueue, Unit

MAX_FLUSHERS = 2  # shared transactions in flight at once (one commits, one fills)
MAX_UNITS = 32  # units per shared transaction: bounds its size, its latency, its rollbacks
_Unit = Unit[None]


class OutcomeBatches:
    """Applies atomic units through ``store``, sharing transactions on PostgreSQL."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.shared = store.url.startswith(("postgres://", "postgresql://"))
        self._queue: CommitQueue[None] = CommitQueue(self._commit, MAX_UNITS, MAX_FLUSHERS)

    async def apply(self, ops: Sequence[Operation]) -> None:
        """Apply ``ops`` atomically, as ``store.apply(ops, atomic=True)`` would (the same
        ``StaleLease`` with the same index), maybe in a transaction shared with others."""
        if not self.shared:
            await self.store.apply(ops, atomic=True)
            return
        await self._queue.submit(ops)

    async def _commit(self, units: list[_Unit]) -> None:
        if len(units) > 1:
            try:
                await self.store.apply([op for ops, _ in units for op in ops], atomic=True)
            except StoreUnavailable as exc:
                _settle(units, exc)
                return
            except (StaleLease, StoreError):
                pass  # one unit's conflict or failure must not be the others': alone below
            else:
                _settle(units, None)
                return
        for ops, future in units:
            try:
                await self.store.apply(ops, atomic=True)
            except Exception as exc:
                _settle([(ops, future)], exc)
            else:
                _settle([(ops, future)], None)


def _settle(units: list[_Unit], exc: BaseException | None) -> None:
    for _, future in units:
        if future.done():  # its caller may have been cancelled meanwhile
            continue
        if exc is None:
            future.set_result(None)
        else:
            future.set_exception(exc)
