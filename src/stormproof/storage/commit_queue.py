"""Units of work queued by concurrent callers, committed together by a few flusher tasks.

The mechanism under every group commit above the SQLite writer (PostgreSQL sends, the
front door's units, task outcomes): a caller queues its unit and awaits its future; at
most ``max_flushers`` flushers take up to ``max_units`` queued units at a time and hand
them to ``commit``, which settles each unit's future. The callers differ only in how a
group is committed and what a failed group does, so that is all they supply.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from stormproof.storage.base import Operation

R = TypeVar("R")
Unit = tuple[Sequence[Operation], asyncio.Future[R]]


class CommitQueue(Generic[R]):
    """Queues units for ``commit``, which receives up to ``max_units`` of them at a time."""

    def __init__(
        self,
        commit: Callable[[list[Unit[R]]], Awaitable[None]],
        max_units: int,
        max_flushers: int,
        *,
        own_context: bool = False,
    ) -> None:
        self._commit = commit
        self.max_units, self.max_flushers = max_units, max_flushers
        # True: a flusher serves every caller, so it runs in none of their contexts.
        self._own_context = own_context
        self._pending: list[Unit[R]] = []
        self._flushers: set[asyncio.Task[None]] = set()  # held: a task needs a reference
        self._active = 0  # flushers not yet past their last look at the queue

    @property
    def waiting(self) -> int:
        """Units queued and not yet taken by a flusher."""
        return len(self._pending)

    async def submit(self, ops: Sequence[Operation]) -> R:
        """Queue ``ops`` and wait until ``commit`` settled them."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._pending.append((ops, future))
        if self._active < self.max_flushers:
            self._active += 1
            context = contextvars.Context() if self._own_context else None
            task = loop.create_task(self._flush(), context=context)
            self._flushers.add(task)
            task.add_done_callback(self._flushers.discard)
        return await future

    async def _flush(self) -> None:
        units: list[Unit[R]] = []
        try:
            while self._pending:
                units = self._pending[: self.max_units]
                del self._pending[: self.max_units]
                await self._commit(units)
        finally:
            # Counted down with no await after the empty queue was seen: a unit queued
            # from now on starts a flusher of its own. The set's done callback runs a
            # turn later, too late for that: counting the set would strand such a unit.
            self._active -= 1
            # Cancelled (the loop is closing): no caller may wait forever.
            for _, future in units:
                if not future.done():
                    future.cancel()
