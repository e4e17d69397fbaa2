"""Moving a stream mapping's checkpoints: after success only, and only under the lease.

A range that simply succeeded moves its unit's checkpoint alone; those moves are kept
until the poll's invocations are over and written together in one transaction (one
statement on PostgreSQL), before any of their units is invoked again, so a SIGKILL
still repeats at most the batch in flight. A move that carries more (the on-failure
record of a range given up, a tumbling window's state) commits at once, atomically with
what it carries. Either way the checkpoint moves only while this worker holds the lease.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from stormproof.engine import events
from stormproof.errors import StaleLease
from stormproof.functions.stream_leases import ShardLeases
from stormproof.functions.stream_windows import Windows
from stormproof.storage import stream_ops as ops
from stormproof.storage import stream_poll_ops as poll
from stormproof.storage.base import Operation

# The consumer's logger: its events (stream.lease_lost) keep the name they always had.
log = logging.getLogger("stormproof.functions.stream_consumer")


@dataclass(frozen=True)
class Move:
    """A unit's checkpoint moving to a record: its sequence number and iterator age."""

    unit: str
    sequence_number: str  # as the records carry it
    seq: int
    age: float


class Checkpointer:
    """The checkpoint writes of one mapping's units leased by this worker."""

    def __init__(self, leases: ShardLeases, windows: Windows | None) -> None:
        self.leases = leases
        self.rt = leases.rt
        self.windows = windows
        self._pending: dict[str, Move] = {}

    def defer(self, move: Move) -> None:
        """Make the move at the next :meth:`flush` (it carries nothing else)."""
        self._pending[move.unit] = move

    def operation(self, move: Move) -> ops.AdvanceCheckpoint:
        """The move as an operation to commit with others (see :meth:`commit`)."""
        leases = self.leases
        return ops.AdvanceCheckpoint(leases.consumer, move.unit, leases.holder, move.seq, move.age)

    async def flush(self) -> None:
        """Write every deferred move in one transaction; a unit whose lease was lost
        meanwhile is forgotten (its records will be read again by the new holder)."""
        if not self._pending:
            return
        moves, self._pending = list(self._pending.values()), {}
        leases, d = self.leases, poll.dialect_of(self.rt.store.url)
        todo = [poll.Advance(m.unit, m.seq, m.age) for m in moves]
        done = await self.rt.store.run(
            lambda: poll.advance(d, leases.consumer, leases.holder, todo)
        )
        for move in moves:
            if move.unit in done:
                self._moved(move)
            else:
                self._lost(move.unit)

    async def commit(
        self, unit: str, todo: list[Operation], window: bool, move: Move | None = None
    ) -> bool:
        """Commit ``todo`` atomically while the lease holds (``window``: its last operation
        writes the unit's window; ``move``: it holds :meth:`operation` of that move)."""
        try:
            results = await self.rt.store.apply(todo, atomic=True)
        except StaleLease:
            self._lost(unit)
            return False
        if window and self.windows is not None:
            self.windows.stored(unit, results[-1])
        if move is not None:
            self._moved(move)
        return True

    def _moved(self, move: Move) -> None:
        self.leases.seqs[move.unit] = move.seq
        # Iterator age per shard: stormproof_stream_iterator_age_seconds.
        events.emit(
            "record.checkpointed",
            self.rt.name,
            mapping=self.leases.consumer,
            shard=move.unit,
            sequence_number=move.sequence_number,
            iterator_age_seconds=move.age,
        )

    def _lost(self, unit: str) -> None:
        log.warning("event=stream.lease_lost consumer=%s shard=%s", self.leases.consumer, unit)
        self.leases.lost(unit)
