"""The part of every store written once: Store methods as programs, and wake-ups."""

from __future__ import annotations

import asyncio
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
# Called after commit with (queue, dlq, rows) for messages a claim moved to the DLQ.
DeadLetterHook = Callable[[str, str, Sequence[ClaimedRow]], None]


class ProgramStore(ABC):
    """Implements the :class:`~stormproof.storage.base.Store` protocol over ``_run``."""

    url: str
    dialect: Dialect

    def __init__(self) -> None:
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        # Wake-ups that found no waiter, per queue and for "every queue" (see _wake).
        self._missed: dict[str, int] = {}
        self._missed_any = 0
        self.on_dead_lettered: DeadLetterHook | None = None

    @abstractmethod
    async def _run(self, factory: Callable[[], Program[T]]) -> T:
        """Run one program in one transaction."""

    # --- wake-ups -------------------------------------------------------------------

    def _wake(self, counts: dict[str, int] | None) -> None:
        """Wake up to ``counts[queue]`` waiters per queue, oldest first (None: every waiter).

        Runs on the event loop. Waking only as many receivers as messages arrived keeps a
        burst of sends from stampeding every idle receiver into an empty claim. A wake-up
        left over (no waiter to take it) moves the :meth:`wake_mark`: a receiver between
        its claim and its wait has no waiter registered yet, and must not sleep it out.
        """
        if counts is None:
            self._missed_any += 1
            for queue in list(self._waiters):
                self._wake_queue(queue, len(self._waiters[queue]))
            return
        for queue, count in counts.items():
            if self._wake_queue(queue, count) > 0:
                self._missed[queue] = self._missed.get(queue, 0) + 1

    def _wake_queue(self, queue: str, budget: int) -> int:
        """Wake up to ``budget`` waiters of ``queue``, oldest first; the budget left."""
        waiters = self._waiters.get(queue, [])
        for future in waiters:
            if budget <= 0:
                break
            if not future.done():
                future.set_result(None)
                budget -= 1
        if waiters:
            self._waiters[queue] = [f for f in waiters if not f.done()]
        return budget

    def wake_mark(self, queues: Sequence[str]) -> int:
        """A mark of the wake-ups of ``queues`` that found no waiter (see ``wait``)."""
        # A sum of counters that only grow changes exactly when one of them does.
        return self._missed_any + sum(self._missed.get(q, 0) for q in queues)

    async def wait(
        self, queues: Sequence[str], timeout: float, *, since: int | None = None
    ) -> None:
        """Return when a queue may have a new visible message, or after ``timeout``.

        With ``since`` (a :meth:`wake_mark` taken before the caller's claim), return at
        once if a wake-up found no waiter in between. The check and the registration run
        with no await between them, so no wake-up can fall in a gap.
        """
        if timeout <= 0 or (since is not None and self.wake_mark(queues) != since):
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        for queue in queues:
            self._waiters.setdefault(queue, []).append(future)
        try:
            await asyncio.wait([future], timeout=timeout)
        except asyncio.CancelledError:
            if future.done():  # woken but leaving: hand the wake-up to another receiver
                self._forget(queues, future)
                self._wake(dict.fromkeys(queues, 1))
            raise
        finally:
            self._forget(queues, future)

    def _forget(self, queues: Sequence[str], future: asyncio.Future[None]) -> None:
        for queue in queues:
            waiters = self._waiters.get(queue)
            if waiters and future in waiters:
                waiters.remove(future)
            if not waiters:
                self._waiters.pop(queue, None)

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
        moved: list[ClaimedRow] = []

        def program() -> Program[list[ClaimedRow]]:
            moved.clear()  # a retried transaction starts over
            return queue_ops.claim(
                self.dialect, queue, attrs, max_messages, visibility_timeout, moved
            )

        rows = await self._run_claim(program, attrs)
        self._moved(queue, attrs, moved)
        return rows

    async def claim_or_next(
        self, queue: str, attrs: QueueAttributes, max_messages: int, visibility_timeout: float
    ) -> tuple[list[ClaimedRow], float | None]:
        """Claim; if nothing was visible, also the seconds until something will be."""
        moved: list[ClaimedRow] = []

        def program() -> Program[tuple[list[ClaimedRow], float | None]]:
            moved.clear()
            return queue_ops.receive(
                self.dialect, queue, attrs, max_messages, visibility_timeout, moved
            )

        found = await self._run_claim(program, attrs)
        self._moved(queue, attrs, moved)
        return found

    async def _run_claim(self, factory: Callable[[], Program[T]], attrs: QueueAttributes) -> T:
        """Run a claim program (a store may run a claim on ``attrs``'s queue more cheaply)."""
        return await self._run(factory)

    def _moved(self, queue: str, attrs: QueueAttributes, moved: list[ClaimedRow]) -> None:
        if moved and self.on_dead_lettered is not None and attrs.dead_letter:
            self.on_dead_lettered(queue, attrs.dead_letter, moved)

    async def next_visible_in(self, queue: str) -> float | None:
        """Seconds until the earliest hidden message becomes visible, if any."""
        return await self._run(lambda: unit_ops.next_visible_in(queue))

    async def slots_in_use(self) -> dict[str, int]:
        """Leased slots per slot pool."""
        return await self._run(unit_ops.slots_in_use)

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

    async def move_messages(
        self, source: str, destination: str | None, limit: int, ids: Sequence[str] | None = None
    ) -> MoveResult:
        """Redrive up to ``limit`` messages (only those of ``ids`` when given)."""
        return await self._run(
            lambda: queue_ops.move_messages(self.dialect, source, destination, limit, ids)
        )

    async def get_state(self, key: str) -> StateRecord | None:
        """A state record."""
        return await self._run(lambda: unit_ops.get_state(key))

    async def list_states(self, prefix: str) -> list[StateRecord]:
        """State records under a prefix."""
        return await self._run(lambda: unit_ops.list_states(prefix))
