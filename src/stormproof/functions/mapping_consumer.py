"""The event-source mapping consumer: batches of a queue through a function."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import replace
from typing import Any

from stormproof.core.batch_response import BatchDecision, BatchItem, decide_batch
from stormproof.core.queue_rules import QueueAttributes
from stormproof.engine import events, log_lines
from stormproof.engine.consumer import IDLE_WAIT, QueueConsumer, leases_of
from stormproof.engine.leases import Holding, LeaseKeeper
from stormproof.engine.mapping_guard import MappingGuard
from stormproof.engine.runtime import Runtime
from stormproof.engine.slots import Concurrency, Permits, Ticket
from stormproof.functions import transaction_batches
from stormproof.functions.mapping_switch import MappingSwitch
from stormproof.functions.mappings import EventSourceMapping, sqs_record
from stormproof.functions.runners import Failed, Outcome
from stormproof.functions.shedding import shed
from stormproof.functions.transactions import TransactionFunction
from stormproof.storage.base import ClaimedRow, Lease
from stormproof.storage.request_ops import UpdateRequest, outcome_ops, request_of

log = logging.getLogger("stormproof.functions.mapping_consumer")
DEBUG, INFO = logging.DEBUG, logging.INFO


class MappingConsumer(QueueConsumer):
    """Runs one event-source mapping: batches of a queue through a function."""

    def __init__(
        self,
        app: Runtime,
        keeper: LeaseKeeper,
        permits: Permits,
        mapping: EventSourceMapping,
        concurrency: Concurrency,
    ) -> None:
        pools = [mapping.function.slot_pool()]
        if mapping.max_concurrency is not None:
            pools.append(concurrency.pool(f"esm:{mapping.id}", mapping.max_concurrency))
        if mapping.limit is not None:
            pools.append(mapping.limit.slot_pool())
        one_at_a_time = mapping.fifo or mapping.batch_window > 0
        super().__init__(
            app,
            keeper,
            permits,
            mapping.queue,
            [p for p in pools if p is not None],
            unit_size=mapping.batch_size,
            max_units=1 if one_at_a_time else permits.total,
        )
        self.mapping = mapping
        guarded = mapping.breaker is not None or mapping.limit is not None
        self.guard = MappingGuard(mapping.breaker, mapping.limit) if guarded else None
        self.shed = 0  # messages shed for max_message_age (the metric)
        self.switch = MappingSwitch(lambda: app.store, app.clock, app.name, mapping.id)
        # priority=[queue, *lower]: one consumer per lower queue, sharing this one's
        # capacity, guard and stop signal; they claim only with tickets this one left over
        self.lower = [
            MappingConsumer(
                app, keeper, permits, replace(mapping, queue=q, priority=()), concurrency
            )
            for q in mapping.priority
        ]
        for lower in self.lower:
            lower.guard, lower.stopping, lower.inflight = self.guard, self.stopping, self.inflight
            lower.switch = self.switch

    async def _tickets(self, n: int) -> list[Ticket]:
        # The caller took n permits: each ends in a ticket or is given back, whatever
        # raises (a store error reading the switch or the breaker must not leak them).
        handed = 0  # permits handed on to reserve(), which gives back its unmatched ones
        try:
            if not await self.switch.enabled():  # disabled at run time: claim nothing
                return []
            if self.guard is None:
                handed = n
                return await super()._tickets(n)
            handed = await self.guard.allow(n)  # an open breaker: claim nothing
            return await self._guarded(self.guard, handed)
        finally:
            self.permits.release(n - handed)

    async def _guarded(self, guard: MappingGuard, allowed: int) -> list[Ticket]:
        """Tickets for the units ``guard`` allowed, with its permits tied to them."""
        return await guard.tickets(allowed, super()._tickets)

    async def _claim_and_dispatch(self, tickets: list[Ticket]) -> int:
        claimed, unused = await self._dispatch(tickets)
        for ticket in unused:
            ticket.finish()
        if self.guard is not None:
            await self.guard.unused(unused)
        return claimed

    async def _dispatch(self, tickets: list[Ticket]) -> tuple[int, list[Ticket]]:
        """Claim from this queue first; what capacity is left goes to the lower ones."""
        claimed, unused = await super()._dispatch(tickets)
        for lower in self.lower:
            if not unused:
                break
            more, unused = await lower._dispatch(unused)
            claimed += more
        return claimed, unused

    async def _idle(self) -> None:
        if not self.lower:
            await super()._idle()
            return
        naps = [asyncio.ensure_future(c.wait_for_messages(IDLE_WAIT)) for c in (self, *self.lower)]
        try:  # any of the queues may get a message
            await asyncio.wait(naps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for nap in naps:
                nap.cancel()
            await asyncio.gather(*naps, return_exceptions=True)

    async def _claim(self, attrs: QueueAttributes, units: int) -> list[ClaimedRow]:
        rows = await super()._claim(attrs, units)
        window = self.mapping.batch_window
        if not rows or window <= 0 or len(rows) >= self.unit_size:
            return rows
        return await self._gather(attrs, rows, window)

    async def _gather(
        self, attrs: QueueAttributes, rows: list[ClaimedRow], window: float
    ) -> list[ClaimedRow]:
        """Keep claiming for up to ``window`` seconds until the batch is full."""
        clock, store = self.app.clock, self.app.store
        holding = self.keeper.hold(self.queue, attrs.visibility_timeout, leases_of(rows))
        deadline = clock.now() + window
        try:
            while len(rows) < self.unit_size and not self.stopping.is_set():
                left = deadline - clock.now()
                if left <= 0:
                    break
                await self.wait_for_messages(left)
                want = self.unit_size - len(rows)
                more = await store.claim(self.queue, attrs, want, attrs.visibility_timeout)
                rows.extend(more)
                holding.leases.extend(leases_of(more))
        finally:
            self.keeper.forget(holding)
        return rows

    async def _process(self, rows: list[ClaimedRow], holding: Holding, ticket: Ticket) -> None:
        """One unit: shed and filter, run the function, then delete what it settled."""
        kept = await self._admit(rows)
        if kept is None:
            return
        rows, records = kept
        fn = self.mapping.function
        if isinstance(fn, TransactionFunction):  # the deletion commits with the writes
            now = self.app.clock.now()
            await transaction_batches.run_batch(
                self.app.store, self.mapping, fn, rows, records, now
            )
            return
        request_id = str(uuid.uuid4())
        attempt = max(r.receive_count for r in rows)
        # DEBUG: the outcome line at INFO carries the same fields and the duration, so an
        # operator reading INFO sees one line per batch (half the logging cost per batch).
        _log("batch.start", fn.name, self.queue, request_id, rows, DEBUG, attempt=attempt)
        began = time.monotonic()
        requests = {r: None for r in map(request_of, rows) if r}
        outcome = await fn.execute(
            {"Records": records},
            request_id=request_id,
            attempt=attempt,
            ticket=ticket,
            requests=requests,
        )
        if self.guard is not None:
            await self.guard.report(ticket, isinstance(outcome, Failed))
        decision = await self._settle(rows, outcome, requests)
        self.keeper.forget(holding)  # the rest reappear when their leases run out
        self._finished(request_id, rows, attempt, outcome, decision, time.monotonic() - began)

    async def _admit(
        self, rows: list[ClaimedRow]
    ) -> tuple[list[ClaimedRow], list[dict[str, Any]]] | None:
        """The rows to run and their records, after shedding stale ones and the filter
        (dropped rows are deleted); None when nothing is left."""
        mapping = self.mapping
        if mapping.max_message_age is not None:
            rows, old = await shed(
                self.app, self.queue, mapping.max_message_age, mapping.stale_to, rows
            )
            self.shed += len(old)
            if not rows:
                return None
        records = [sqs_record(self.queue, r) for r in rows]
        if mapping.filter is None:
            return rows, records
        keep = [mapping.filter(rec) for rec in records]
        dropped = [r for r, k in zip(rows, keep, strict=True) if not k]
        if dropped:
            await self.keeper.delete(self.queue, leases_of(dropped))
            _log("batch.filtered", mapping.function.name, self.queue, "-", dropped, INFO)
        rows = [r for r, k in zip(rows, keep, strict=True) if k]
        records = [rec for rec, k in zip(records, keep, strict=True) if k]
        return (rows, records) if rows else None

    async def _settle(
        self, rows: list[ClaimedRow], outcome: Outcome, requests: dict[str, Any]
    ) -> BatchDecision:
        """Decide the batch's fate from the outcome and delete the messages it settled."""
        decision = decide_batch(
            [BatchItem(r.message_id, r.group_id) for r in rows],
            raised=isinstance(outcome, Failed),
            response=None if isinstance(outcome, Failed) else outcome.result,
            report_batch_item_failures=self.mapping.report_batch_item_failures,
            fifo=self.mapping.fifo,
        )
        done = set(decision.delete)
        if done:
            await self.keeper.delete(
                self.queue,
                [Lease(r.rowid, r.token) for r in rows if r.message_id in done],
                self._report(rows, done, requests),
            )
            events.emit("message.deleted", self.app.name, queue=self.queue, count=len(done))
        return decision

    def _finished(
        self,
        request_id: str,
        rows: list[ClaimedRow],
        attempt: int,
        outcome: Outcome,
        decision: BatchDecision,
        took: float,
    ) -> None:
        """Log the batch's outcome (and announce a partial failure)."""
        fn_name = self.mapping.function.name
        extra = _outcome_fields(attempt, outcome, decision)
        event = f"batch.{decision.outcome}"
        _log(
            event, fn_name, self.queue, request_id, rows, duration_ms=round(took * 1000, 3), **extra
        )
        if decision.outcome == "partial":
            events.emit(
                "batch.partially_failed",
                self.app.name,
                function=fn_name,
                queue=self.queue,
                request_id=request_id,
                batch_size=len(rows),
                **extra,
            )

    def _report(
        self, rows: list[ClaimedRow], done: set[str], results: dict[str, Any]
    ) -> list[UpdateRequest]:
        """A deleted message's front-door request succeeded (with what the handler
        reported): the record updates, committed in the transaction of the deletes."""
        now = self.app.clock.now()
        return [
            op
            for r in rows
            if r.message_id in done and (rid := request_of(r))
            for op in outcome_ops(rid, "succeeded", now, results.get(rid))
        ]


def _outcome_fields(attempt: int, outcome: Outcome, decision: BatchDecision) -> dict[str, Any]:
    extra: dict[str, Any] = {"attempt": attempt}
    if isinstance(outcome, Failed):
        extra["error_type"] = outcome.error_type
    if decision.retry:
        extra["returned"] = list(decision.retry)
    if decision.reason:
        extra["reason"] = decision.reason
    return extra


def _log(
    event: str,
    function: str,
    queue: str,
    request_id: str,
    rows: Any,
    level: int = logging.INFO,
    **extra: Any,
) -> None:
    if not log.isEnabledFor(level):
        return
    ids = [r.message_id for r in rows]
    fields = {"function": function, "queue": queue, "request_id": request_id, "message_ids": ids}
    log_lines.log_event(log, event, {**fields, **extra}, level)
