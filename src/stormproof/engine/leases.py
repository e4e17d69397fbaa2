"""The leases a worker holds: heartbeats, batched completions and release on shutdown.

Every message a worker claims is *held* (a :class:`Holding`) until its work is done. While
held, a heartbeat extends its visibility (a third of the queue's visibility timeout before
it would lapse), so a slow live handler's messages never reappear; a worker killed with
SIGKILL stops extending, and its messages reappear after their visibility timeout.

Completions are batched: :meth:`LeaseKeeper.delete` queues the leases and one flusher
applies every queued delete in one unit of work (one ``Delete`` per queue), so many
batches finished together cost one round trip.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from stormproof.clock import Clock
from stormproof.engine.slots import honour_cancellation
from stormproof.storage.base import (
    ChangeVisibility,
    Delete,
    EntryStatus,
    Lease,
    Operation,
    Store,
)

log = logging.getLogger("stormproof.engine.leases")

MIN_TICK = 0.05
MAX_TICK = 5.0


@dataclass(eq=False)
class Holding:
    """Leases claimed together from one queue, held until their work is done."""

    queue: str
    visibility_timeout: float
    leases: list[Lease]
    extended_at: float
    lost: set[int] = field(default_factory=set)  # row ids whose lease we no longer hold


@dataclass(eq=False)
class _PendingDelete:
    queue: str
    leases: Sequence[Lease]
    future: asyncio.Future[list[EntryStatus]]
    along: Sequence[Operation] = ()


class LeaseKeeper:
    """Tracks held leases, extends them, deletes finished ones in batches, releases the rest."""

    def __init__(self, store: Callable[[], Store], clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self.holdings: set[Holding] = set()
        self._pending: list[_PendingDelete] = []
        self._flusher: asyncio.Task[None] | None = None
        self._heartbeat: asyncio.Task[None] | None = None

    # --- holding ---------------------------------------------------------------------

    def hold(self, queue: str, visibility_timeout: float, leases: list[Lease]) -> Holding:
        """Start holding leases just claimed."""
        holding = Holding(queue, visibility_timeout, leases, self._clock.now())
        self.holdings.add(holding)
        return holding

    def forget(self, holding: Holding) -> None:
        """Stop holding (the work is done, or the messages are left to reappear)."""
        self.holdings.discard(holding)

    # --- heartbeat -------------------------------------------------------------------

    def start(self) -> None:
        """Start the heartbeat task."""
        if self._heartbeat is None:
            self._heartbeat = asyncio.get_running_loop().create_task(
                self._beat_forever(), name="stormproof-heartbeat"
            )

    def _tick(self) -> float:
        shortest = min((h.visibility_timeout for h in self.holdings), default=6 * MAX_TICK)
        return min(MAX_TICK, max(MIN_TICK, shortest / 6))

    async def _beat_forever(self) -> None:
        while True:
            await self._clock.sleep(self._tick())
            try:
                await self.heartbeat()
            except Exception:
                honour_cancellation()
                log.exception("event=heartbeat.failed")

    async def heartbeat(self) -> int:
        """Extend every holding due (a third of its visibility timeout old); returns how many."""
        now = self._clock.now()
        due = [h for h in self.holdings if now - h.extended_at >= h.visibility_timeout / 3]
        if not due:
            return 0
        ops: list[ChangeVisibility] = []
        spans: list[tuple[Holding, int, int]] = []
        for holding in due:
            holding.extended_at = now
            live = [ls for ls in holding.leases if ls.rowid not in holding.lost]
            if live:
                op = ChangeVisibility(holding.queue, live, [holding.visibility_timeout] * len(live))
                spans.append((holding, len(ops), len(live)))
                ops.append(op)
        results = await self._store().apply(ops) if ops else []
        for holding, index, _ in spans:
            sent = ops[index].leases
            for lease, status in zip(sent, results[index].statuses, strict=True):
                if status is not EntryStatus.OK:
                    holding.lost.add(lease.rowid)
                    log.warning(
                        "event=lease.lost queue=%s row=%s status=%s",
                        holding.queue,
                        lease.rowid,
                        status.value,
                    )
        return len(due)

    # --- completions -----------------------------------------------------------------

    async def delete(
        self, queue: str, leases: Sequence[Lease], along: Sequence[Operation] = ()
    ) -> list[EntryStatus]:
        """Delete leased messages, batched with other deletes queued meanwhile; ``along``
        (e.g. request-record updates) commits in the same transaction as the deletes."""
        if not leases:
            return []
        future: asyncio.Future[list[EntryStatus]] = asyncio.get_running_loop().create_future()
        self._pending.append(_PendingDelete(queue, leases, future, along))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            by_queue: dict[str, list[_PendingDelete]] = {}
            for pending in batch:
                by_queue.setdefault(pending.queue, []).append(pending)
            ops: list[Operation] = [
                Delete(queue, [ls for p in group for ls in p.leases])
                for queue, group in by_queue.items()
            ]
            ops += [op for pending in batch for op in pending.along]
            try:
                results = await self._store().apply(ops)
            except Exception as exc:
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(exc)
                continue
            for group, result in zip(by_queue.values(), results, strict=False):
                start = 0
                for pending in group:
                    end = start + len(pending.leases)
                    if not pending.future.done():
                        pending.future.set_result(result.statuses[start:end])
                    start = end

    # --- shutdown --------------------------------------------------------------------

    async def release_all(self) -> int:
        """Make every held message visible again now (change visibility 0); returns how many."""
        holdings, self.holdings = list(self.holdings), set()
        by_queue: dict[str, list[Lease]] = {}
        for holding in holdings:
            live = [ls for ls in holding.leases if ls.rowid not in holding.lost]
            by_queue.setdefault(holding.queue, []).extend(live)
        ops = [ChangeVisibility(q, leases, [0.0] * len(leases)) for q, leases in by_queue.items()]
        if ops:
            await self._store().apply(ops)
        return sum(len(v) for v in by_queue.values())

    async def close(self) -> None:
        """Stop the heartbeat and finish queued deletes."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
            self._heartbeat = None
        if self._flusher is not None:
            with contextlib.suppress(Exception):
                await self._flusher
