"""The part of every store written once: Store methods as programs, and wake-ups."""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import TypeVar

from stormproof.core.queue_rules import QueueAttributes
from stormproof.storage import queue_ops, unit_ops
from stormproof.storage.base import (
    ClaimedRow,
    MoveResult,
    Operation,
    OpResult,
    QueueCounts,
    StateRecord,
    StoredQueue,
)
from stormproof.storage.program import Dialect, Program

T = TypeVar("T")


class ProgramStore(ABC):
    """Implements the :class:`~stormproof.storage.base.Store` protocol over ``_run``."""

    url: str
    dialect: Dialect

    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}

    @abstractmethod
    async def _run(self, factory: Callable[[], Program[T]]) -> T:
        """Run one program in one transaction."""

    # --- wake-ups -------------------------------------------------------------------

    def _wake(self, queues: set[str] | None) -> None:
        """Wake waiters of ``queues`` (None: every waiter). Runs on the event loop."""
        names = list(self._events) if queues is None else [q for q in queues if q in self._events]
        for name in names:
            self._events.pop(name).set()

    async def wait(self, queues: Sequence[str], timeout: float) -> None:
        """Return when a queue may have a new visible message, or after ``timeout``."""
        if timeout <= 0:
            return
        events = [self._events.setdefault(q, asyncio.Event()) for q in queues]
        waiters = [asyncio.ensure_future(e.wait()) for e in events]
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await w

    # --- the protocol ---------------------------------------------------------------

    async def run(self, factory: Callable[[], Program[T]]) -> T:
        """Run a storage program in one transaction (features bring their own programs)."""
        return await self._run(factory)

    async def now(self) -> float:
        """The store's clock."""
        return await self._run(unit_ops.now)

    async def apply(self, ops: Sequence[Operation], *, atomic: bool = False) -> list[OpResult]:
        """Apply a unit of work in one transaction."""
        return await self._run(lambda: unit_ops.apply(self.dialect, ops, atomic))

    async def claim(
        self, queue: str, attrs: QueueAttributes, max_messages: int, visibility_timeout: float
    ) -> list[ClaimedRow]:
        """Lease visible messages (moving over-received ones to the DLQ)."""
        return await self._run(
            lambda: queue_ops.claim(self.dialect, queue, attrs, max_messages, visibility_timeout)
        )

    async def next_visible_in(self, queue: str) -> float | None:
        """Seconds until the earliest hidden message becomes visible, if any."""
        return await self._run(lambda: unit_ops.next_visible_in(queue))

    async def put_queue(self, name: str, attrs: QueueAttributes) -> StoredQueue:
        """Create or replace a queue."""
        return await self._run(lambda: unit_ops.put_queue(name, attrs))

    async def get_queue(self, name: str) -> StoredQueue | None:
        """A queue, or None."""
        return await self._run(lambda: unit_ops.get_queue(name))

    async def list_queues(self) -> list[StoredQueue]:
        """Every queue."""
        return await self._run(unit_ops.list_queues)

    async def delete_queue(self, name: str) -> bool:
        """Drop a queue and its messages."""
        return await self._run(lambda: unit_ops.delete_queue(name))

    async def purge(self, queue: str) -> int:
        """Delete every message of a queue."""
        return await self._run(lambda: unit_ops.purge(queue))

    async def counts(self, queue: str) -> QueueCounts:
        """Visible, in-flight and delayed counts."""
        return await self._run(lambda: unit_ops.counts(queue))

    async def expire(self, queue: str, retention: float) -> int:
        """Delete messages past retention."""
        return await self._run(lambda: unit_ops.expire(queue, retention))

    async def move_messages(self, source: str, destination: str | None, limit: int) -> MoveResult:
        """Redrive up to ``limit`` messages."""
        return await self._run(
            lambda: queue_ops.move_messages(self.dialect, source, destination, limit)
        )

    async def get_state(self, key: str) -> StateRecord | None:
        """A state record."""
        return await self._run(lambda: unit_ops.get_state(key))

    async def list_states(self, prefix: str) -> list[StateRecord]:
        """State records under a prefix."""
        return await self._run(lambda: unit_ops.list_states(prefix))
