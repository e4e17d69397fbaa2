"""Consumers: claim messages as capacity allows and run them through a function.

:class:`QueueConsumer` is the poll loop shared by event-source mappings
(:class:`MappingConsumer`, here) and async invocations
(:class:`~stormproof.invocations.InvocationConsumer`). One cycle:

1. take process permits (``worker --concurrency``), waiting for at least one;
2. take global slots (the function's reserved concurrency, the mapping's
   ``max_concurrency``) **before** claiming, so a throttle never claims a message and never
   grows a receive count (AWS claims first and lets throttled batches time out);
3. claim up to ``units x unit_size`` messages in one round trip and split them into units
   (one invocation each), run as tasks;
4. a unit keeps its permit until its completion is durable, so a worker killed at any
   moment holds at most ``--concurrency x batch size`` processed-but-undeleted messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import uuid
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from stormproof.concurrency import Permits, SlotPool, Ticket, honour_cancellation, reserve
from stormproof.core.backoff import Jitter, delay
from stormproof.core.batch_response import BatchDecision, BatchItem, decide_batch
from stormproof.core.queue_rules import QueueAttributes
from stormproof.leases import Holding, LeaseKeeper
from stormproof.mappings import EventSourceMapping, sqs_record
from stormproof.runners import Failed, Outcome
from stormproof.storage.base import ClaimedRow, Lease
from stormproof.storage.request_ops import outcome_ops, request_of
from stormproof.waiting import nap_until_visible

if TYPE_CHECKING:
    from stormproof.app import App

log = logging.getLogger("stormproof.consumers")
T = TypeVar("T")

IDLE_WAIT = 2.0  # longest nap of an idle consumer between claims
THROTTLE_BASE = 0.05
THROTTLE_CAP = 0.25


def leases_of(rows: Sequence[ClaimedRow]) -> list[Lease]:
    """The leases of claimed rows."""
    return [Lease(r.rowid, r.token) for r in rows]


class QueueConsumer:
    """The poll loop over one queue (see the module docstring); subclasses run the units."""

    def __init__(
        self,
        app: App,
        keeper: LeaseKeeper,
        permits: Permits,
        queue: str,
        pools: Sequence[SlotPool],
        *,
        unit_size: int,
        max_units: int,
        rng: random.Random | None = None,
    ) -> None:
        self.app = app
        self.keeper = keeper
        self.permits = permits
        self.queue = queue
        self.pools = list(pools)
        self.unit_size = unit_size
        self.max_units = max_units
        self.rng = rng or random.Random()
        self.inflight: set[asyncio.Task[None]] = set()
        self.stopping = asyncio.Event()
        self._throttles = 0

    # --- the loop --------------------------------------------------------------------

    async def run(self) -> None:
        """Poll until :meth:`stop`."""
        while not self.stopping.is_set():
            try:
                await self._cycle()
            except Exception:
                honour_cancellation()
                log.exception("event=consumer.error queue=%s", self.queue)
                await self._unless_stopped(self.app.clock.sleep(1.0))

    def stop(self) -> None:
        """Stop claiming (units already running go on)."""
        self.stopping.set()

    async def _cycle(self) -> None:
        n = self.permits.try_acquire(self.max_units)
        if not n:
            n = await self._unless_stopped(self.permits.acquire(self.max_units)) or 0
        if self.stopping.is_set():
            self.permits.release(n)
            return
        if not n:
            return
        tickets = await self._tickets(n)
        if not tickets:
            await self._throttled()
            return
        self._throttles = 0
        if not await self._claim_and_dispatch(tickets):
            await self._idle()

    async def poll_once(self) -> int:
        """Claim once with the capacity free right now and start the units; messages claimed."""
        n = self.permits.try_acquire(self.max_units)
        if not n:
            return 0
        tickets = await self._tickets(n)
        return await self._claim_and_dispatch(tickets) if tickets else 0

    async def _tickets(self, n: int) -> list[Ticket]:
        return await reserve(self.permits, self.pools, n)

    async def _claim_and_dispatch(self, tickets: list[Ticket]) -> int:
        try:
            attrs = self.app.attributes_of(self.queue)
            rows = await self._claim(attrs, len(tickets))
        except BaseException:
            for ticket in tickets:
                ticket.finish()
            raise
        units = self._split(rows) if rows else []
        for ticket in tickets[len(units) :]:
            ticket.finish()
        loop = asyncio.get_running_loop()
        for unit, ticket in zip(units, tickets, strict=False):
            holding = self.keeper.hold(self.queue, attrs.visibility_timeout, leases_of(unit))
            task = loop.create_task(self._run_unit(unit, holding, ticket))
            self.inflight.add(task)
            task.add_done_callback(self.inflight.discard)
        return len(rows)

    async def _claim(self, attrs: QueueAttributes, units: int) -> list[ClaimedRow]:
        n = units * self.unit_size
        return await self.app.store.claim(self.queue, attrs, n, attrs.visibility_timeout)

    def _split(self, rows: list[ClaimedRow]) -> list[list[ClaimedRow]]:
        size = self.unit_size
        return [rows[i : i + size] for i in range(0, len(rows), size)]

    async def _run_unit(self, rows: list[ClaimedRow], holding: Holding, ticket: Ticket) -> None:
        try:
            await self._process(rows, holding, ticket)
        except Exception:
            log.exception("event=consumer.unit_error queue=%s", self.queue)
        finally:
            self.keeper.forget(holding)
            ticket.finish()

    async def _process(self, rows: list[ClaimedRow], holding: Holding, ticket: Ticket) -> None:
        raise NotImplementedError

    # --- waiting ---------------------------------------------------------------------

    async def _throttled(self) -> None:
        self._throttles += 1
        wait = delay(
            min(self._throttles - 1, 30),
            base=THROTTLE_BASE,
            cap=THROTTLE_CAP,
            jitter=Jitter.FULL,
            rng=self.rng,
        )
        await self._unless_stopped(self.app.clock.sleep(max(wait, THROTTLE_BASE / 5)))

    async def _idle(self) -> None:
        await self.wait_for_messages(IDLE_WAIT)

    async def wait_for_messages(self, limit: float) -> None:
        """Nap until a message may be visible (a send, a delay or a lease running out)."""
        await self._unless_stopped(
            nap_until_visible(self.app.store, self.app.clock, self.queue, limit)
        )

    async def _unless_stopped(self, work: Awaitable[T]) -> T | None:
        """Await ``work`` unless :meth:`stop` comes first (then cancel it and return None)."""
        task = asyncio.ensure_future(work)
        stop = asyncio.ensure_future(self.stopping.wait())
        try:
            await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        return None if task.cancelled() else task.result()


class MappingConsumer(QueueConsumer):
    """Runs one event-source mapping: batches of a queue through a function."""

    def __init__(
        self, app: App, keeper: LeaseKeeper, permits: Permits, mapping: EventSourceMapping
    ) -> None:
        pools = [mapping.function.slot_pool()]
        if mapping.max_concurrency is not None:
            pools.append(
                app.functions.concurrency.pool(f"esm:{mapping.id}", mapping.max_concurrency)
            )
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
        mapping, fn = self.mapping, self.mapping.function
        records = [sqs_record(self.queue, r) for r in rows]
        if mapping.filter is not None:
            keep = [mapping.filter(rec) for rec in records]
            dropped = [r for r, k in zip(rows, keep, strict=True) if not k]
            if dropped:
                await self.keeper.delete(self.queue, leases_of(dropped))
                _log("batch.filtered", fn.name, self.queue, "-", dropped)
            rows = [r for r, k in zip(rows, keep, strict=True) if k]
            records = [rec for rec, k in zip(records, keep, strict=True) if k]
            if not rows:
                return
        request_id = str(uuid.uuid4())
        attempt = max(r.receive_count for r in rows)
        _log("batch.start", fn.name, self.queue, request_id, rows, attempt=attempt)
        requests = {r: None for r in map(request_of, rows) if r}
        outcome = await fn.execute(
            {"Records": records}, request_id=request_id, attempt=attempt, ticket=ticket,
            requests=requests,
        )  # fmt: skip
        failed = isinstance(outcome, Failed)
        decision = decide_batch(
            [BatchItem(r.message_id, r.group_id) for r in rows],
            raised=failed,
            response=None if isinstance(outcome, Failed) else outcome.result,
            report_batch_item_failures=mapping.report_batch_item_failures,
            fifo=mapping.fifo,
        )
        done = set(decision.delete)
        if done:
            await self.keeper.delete(
                self.queue, [Lease(r.rowid, r.token) for r in rows if r.message_id in done]
            )
            await self._report(rows, done, requests)
        self.keeper.forget(holding)  # the rest reappear when their leases run out
        extra = _outcome_fields(attempt, outcome, decision)
        _log(f"batch.{decision.outcome}", fn.name, self.queue, request_id, rows, **extra)

    async def _report(
        self, rows: list[ClaimedRow], done: set[str], results: dict[str, Any]
    ) -> None:
        """A deleted message's front-door request succeeded (with what the handler reported)."""
        now = self.app.clock.now()
        ops = [op for r in rows if r.message_id in done and (rid := request_of(r))
               for op in outcome_ops(rid, "succeeded", now, results.get(rid))]  # fmt: skip
        if ops:
            await self.app.store.apply(ops)


def _outcome_fields(attempt: int, outcome: Outcome, decision: BatchDecision) -> dict[str, Any]:
    extra: dict[str, Any] = {"attempt": attempt}
    if isinstance(outcome, Failed):
        extra["error_type"] = outcome.error_type
    if decision.retry:
        extra["returned"] = list(decision.retry)
    if decision.reason:
        extra["reason"] = decision.reason
    return extra


def _log(event: str, function: str, queue: str, request_id: str, rows: Any, **extra: Any) -> None:
    if log.isEnabledFor(logging.INFO):
        ids = ",".join(r.message_id for r in rows)
        more = "".join(f" {k}={_text(v)}" for k, v in extra.items())
        log.info(
            "event=%s function=%s queue=%s request_id=%s message_ids=%s%s",
            event,
            function,
            queue,
            request_id,
            ids,
            more,
            extra={"stormproof": {"event": event, "function": function, "queue": queue,
                                  "request_id": request_id, **extra}},
        )  # fmt: skip


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(map(str, value))
    text = str(value)
    return json.dumps(text) if " " in text else text
