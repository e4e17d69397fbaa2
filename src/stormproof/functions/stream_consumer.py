"""Runs a stream mapping: ordered batches per leased shard, retries, bisect, on-failure.

Every poll renews this worker's share of the shard leases and reads the next records of
every held unit without a batch, in one transaction
(:class:`~stormproof.functions.stream_leases.ShardLeases`), invokes the function once
per unit concurrently (:class:`~stormproof.functions.stream_invoker.Invoker`), then
writes the checkpoints that moved
(:class:`~stormproof.functions.stream_checkpoints.Checkpointer`): a new holder resumes
after the last checkpoint (at-least-once, in order). A unit's batch and its
:class:`~stormproof.core.stream_batch.BatchPlan` live in memory; the checkpoint moves
only after a range succeeded or was given up, in the same transaction as the on-failure
record, and only while the lease is still held.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from stormproof.core import stream_batch as sb
from stormproof.core import stream_windows as sw
from stormproof.core.stream_rules import format_seq, parse_seq, slot
from stormproof.engine import tracing
from stormproof.engine.runtime import Runtime
from stormproof.functions.runners import Failed, Outcome
from stormproof.functions.stream_checkpoints import Checkpointer, Move
from stormproof.functions.stream_invoker import Invoker
from stormproof.functions.stream_leases import ShardLeases
from stormproof.functions.stream_mappings import (
    StreamMapping,
    filterable,
    kinesis_record,
)
from stormproof.functions.stream_windows import Windows
from stormproof.storage import stream_ops as ops
from stormproof.storage.base import CompareAndSet, Operation
from stormproof.streams.stream import StreamRecord

log = logging.getLogger("stormproof.functions.stream_consumer")

IDLE_POLL = 0.05  # an idle mapping polls 20 times a second: put→handler stays well under 100 ms
THROTTLE_PAUSE = 0.1  # seconds before a throttled batch asks for a slot again


@dataclass
class _Batch:
    records: list[StreamRecord]
    plan: sb.BatchPlan
    not_before: float = 0.0  # clock time before which the head range is not retried
    window: float = 0.0  # the start of the tumbling window of its records
    write: CompareAndSet | None = None  # the window state to store with the checkpoint


class StreamConsumer:
    """Polls the shards of one stream mapping that this worker leases."""

    def __init__(self, rt: Runtime, mapping: StreamMapping) -> None:
        self.rt = rt
        self.mapping = mapping
        self._batches: dict[str, _Batch] = {}
        self._fetched: dict[str, list[StreamRecord]] = {}  # read this poll, not yet batched
        self._stopping = asyncio.Event()
        size = mapping.tumbling_window
        arn = mapping.stream.arn
        self.windows = Windows(rt, mapping.id, size, arn) if size > 0 else None
        self.leases = ShardLeases(rt, mapping, self._forget)
        self.checkpoints = Checkpointer(self.leases, self.windows)
        self.invoker = Invoker(rt, mapping)

    @property
    def invocations(self) -> int:
        """How many times this consumer invoked the function (or a fault stood in)."""
        return self.invoker.invocations

    @property
    def consumer(self) -> str:
        """The checkpoints' consumer name."""
        return self.mapping.id

    @property
    def held(self) -> set[str]:
        """The lease units this worker holds."""
        return self.leases.held

    async def run(self) -> None:
        """Poll until :meth:`stop`; then give the leases back."""
        try:
            while not self._stopping.is_set():
                if await self.poll_once() == 0:
                    await self.rt.clock.sleep(IDLE_POLL)
        finally:
            await self.release()

    def stop(self) -> None:
        """Stop polling (the running invocation finishes)."""
        self._stopping.set()

    async def poll_once(self) -> int:
        """Renew or take this worker's share of the shard leases (reading the next records
        of every held unit without a batch with them), then one invocation per held unit;
        returns how many records were invoked or checkpointed."""
        done = await self.leases.renew(lambda unit: unit in self._batches)
        ready = [u for u in [*done.lease.held, *done.lease.candidates] if u in done.taken]
        for unit, rows in done.records.items():
            shard = unit.split("#")[0]
            self._fetched[unit] = [_record(shard, r) for r in rows]
        try:
            # Shards (and a shard's parallel slots) run their batches concurrently.
            return sum(await asyncio.gather(*(self._step(unit) for unit in ready)))
        finally:
            self._fetched.clear()
            await self.checkpoints.flush()  # before any of these units is invoked again

    def _ours(self, unit: str, record: StreamRecord) -> bool:
        """Whether a record belongs to this unit (its partition key's slot) and the filter."""
        factor = self.mapping.parallelization_factor
        if factor > 1 and slot(record.partition_key, factor) != int(unit.rsplit("#", 1)[1]):
            return False
        return self.mapping.filter is None or self.mapping.filter(filterable(record))

    async def release(self) -> None:
        """Give every held lease back, so another worker takes the shards at once."""
        await self.checkpoints.flush()
        await self.leases.release_all()
        self._batches.clear()

    def _forget(self, unit: str) -> None:
        """Drop a unit's batch and window: another worker may move them on."""
        self._batches.pop(unit, None)
        if self.windows is not None:
            self.windows.forget(unit)

    async def _step(self, shard_id: str) -> int:
        batch = self._batches.get(shard_id)
        if batch is None and self.windows is not None and await self._window_over(shard_id):
            return 1
        batch = batch or await self._load(shard_id)
        if batch is None:
            return 0
        now = self.rt.clock.now()
        if now < batch.not_before:
            return 0  # backing off before a retry
        rng = sb.head(batch.plan)
        assert rng is not None
        lo, hi = rng
        part = batch.records[lo:hi]
        arrivals = [r.approximate_arrival_timestamp for r in part]
        expired = sb.expired_count(arrivals, now, self.mapping.max_record_age)
        if expired:  # too old already: to on-failure without invoking the function
            await self._finish(shard_id, batch, *sb.expire(batch.plan, expired))
            return expired
        keep = [r for r in part if self._ours(shard_id, r)]
        if not keep:
            await self._finish(shard_id, batch, sb.succeeded(batch.plan), None)
            return len(part)
        payload = [kinesis_record(self.mapping.stream, r) for r in keep]
        event: Any = {"Records": payload}
        if self.windows is not None:
            event = self.windows.event(shard_id, payload, batch.window)
        with tracing.processing(
            self.mapping.stream.name,
            [r.trace_header for r in keep],
            [r.sequence_number for r in keep],
            batch.plan.attempts + 1,
        ):
            outcome = await self.invoker.invoke(event, batch.plan.attempts + 1)
        if outcome is None:  # throttled: no attempt is used, try again shortly
            batch.not_before = now + THROTTLE_PAUSE
            return 0
        await self._settle(shard_id, batch, part, keep, lo, outcome)
        return len(part)

    async def _settle(
        self,
        shard_id: str,
        batch: _Batch,
        part: list[StreamRecord],
        keep: list[StreamRecord],
        lo: int,
        outcome: Outcome,
    ) -> None:
        """Finish the invoked range ``part`` (from ``lo``), or plan its retry: whole, bisected,
        or from the first failed record the function reported."""
        failed_at = None
        if not isinstance(outcome, Failed) and self.windows is not None:
            batch.write = self.windows.accept(shard_id, batch.window, outcome.result)
        if not isinstance(outcome, Failed) and self.mapping.report_batch_item_failures:
            low = sb.lowest_failure([r.sequence_number for r in keep], outcome.result)
            failed_at = None if low is None else lo + part.index(keep[low])
        if not isinstance(outcome, Failed) and failed_at is None:
            await self._finish(shard_id, batch, sb.succeeded(batch.plan), None)
            return
        now = self.rt.clock.now()
        age = self.mapping.max_record_age
        too_old = age >= 0 and now - part[0].approximate_arrival_timestamp > age
        plan, give = sb.failed(
            batch.plan,
            bisect=self.mapping.bisect_on_error,
            age_exceeded=too_old,
            max_retry_attempts=self.mapping.max_retry_attempts,
            failed_at=failed_at if failed_at != lo else None,
        )
        batch.not_before = now + sb.retry_delay(plan.attempts)
        await self._finish(shard_id, batch, plan, give)

    def next_due(self) -> float | None:
        """When the earliest batch backing off may be retried (None: none is waiting)."""
        due = [b.not_before for b in self._batches.values()]
        if self.windows is not None:
            due += self.windows.retry_times()
        return min(due) if due else None

    async def _window_over(self, unit: str) -> bool:
        """Make the final invocation of the unit's window once it is over (whether it ran)."""
        assert self.windows is not None
        window, now = await self.windows.get(unit), self.rt.clock.now()
        if window.start is None or now < window.not_before:
            return False
        peek = await self._read(unit, 1)
        nxt = peek[0].approximate_arrival_timestamp if peek else None
        if not sw.closing(window.start, self.windows.size, nxt, now, window.early):
            return False
        event = self.windows.event(unit, [], window.start, final=True, early=window.early)
        outcome = await self.invoker.invoke(event, window.attempts + 1)
        if outcome is None:
            window.not_before = now + THROTTLE_PAUSE
            return False
        if isinstance(outcome, Failed):
            window.attempts += 1
            retries = self.mapping.max_retry_attempts
            if retries < 0 or window.attempts <= retries:
                window.not_before = now + sb.retry_delay(window.attempts)
                return True
            log.warning("event=stream.window_dropped consumer=%s shard=%s", self.consumer, unit)
        await self.checkpoints.commit(unit, [self.windows.close(unit)], True)
        return True

    async def _read(self, unit: str, limit: int) -> list[StreamRecord]:
        if self.leases.caught_up(unit):
            return []  # caught up with the shard as of this poll's survey: no read
        # Straight to the store: the stream's public read also looks the shard up and asks
        # the store's clock, two round trips a consumer does not need.
        seq, shard, name = (
            self.leases.seqs.get(unit, 0),
            unit.split("#")[0],
            self.mapping.stream.name,
        )
        rows = await self.rt.store.run(lambda: ops.read(name, shard, seq, limit))
        return [_record(shard, r) for r in rows]

    async def _load(self, shard_id: str) -> _Batch | None:
        # Read with the leases, unless the unit was caught up then: nothing to read.
        records = self._fetched.pop(shard_id, [])
        if not records:
            return None
        first = records[0].approximate_arrival_timestamp
        now, size = self.rt.clock.now(), self.mapping.batch_size
        start = 0.0
        if self.windows is not None:  # a batch never spans two tumbling windows
            cut = sw.same_window(
                [r.approximate_arrival_timestamp for r in records], self.windows.size
            )
            size = cut if cut < len(records) else size  # the window is complete: go
            records, start = records[:cut], sw.window_start(first, self.windows.size)
            await self.windows.get(shard_id)
        if not sb.ready(len(records), size, first, now, self.mapping.batch_window):
            return None  # the batching window is still open: wait for more records
        batch = _Batch(records, sb.start(len(records)), window=start)
        self._batches[shard_id] = batch
        return batch

    async def _finish(
        self, shard_id: str, batch: _Batch, plan: sb.BatchPlan, give: sb.GiveUp | None
    ) -> None:
        """Record the new plan; checkpoint when it moved on (with the failure record)."""
        moved = plan.done > batch.plan.done
        batch.plan = plan
        if sb.head(plan) is None:
            self._batches.pop(shard_id, None)
        if not moved:
            return
        now = self.rt.clock.now()
        last = batch.records[plan.done - 1]
        todo: list[Operation] = []
        if give is not None:
            part = [r for r in batch.records[give.start : give.end] if self._ours(shard_id, r)]
            if part:  # a range of only other slots' (or filtered) records reports nothing
                todo += await self.invoker.failure_ops(part, give, now)
        age = max(0.0, now - last.approximate_arrival_timestamp)
        move = Move(shard_id, last.sequence_number, parse_seq(last.sequence_number), age)
        if not todo and batch.write is None:
            self.checkpoints.defer(move)  # a plain move: written with the poll's others
            return
        todo.append(self.checkpoints.operation(move))
        window = batch.write is not None
        if batch.write is not None:
            todo.append(batch.write)  # the window's state commits with its checkpoint
            batch.write = None
        await self.checkpoints.commit(shard_id, todo, window, move)


def _record(shard: str, row: ops.RecordRow) -> StreamRecord:
    return StreamRecord(
        shard, format_seq(row.seq), row.partition_key, row.data, row.arrived_at, row.trace
    )
