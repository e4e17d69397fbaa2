"""The delivery consumer: works off a bus's delivery queue (``_bus-<bus>``).

It claims delivery messages (and schedule ticks, see :mod:`stormproof.bus.schedule`) with
a visibility timeout longer than any delivery may take, and for each one:

* success: the message is deleted (deletes are batched);
* deliveries to other buses claimed together are forwarded together
  (:mod:`stormproof.bus.forwarding`): one unit of work per claim, whatever the number of
  target buses, publishes the events on each and deletes their delivery messages (so a
  forward is never repeated after it committed); it takes one slot of
  ``max_deliveries`` per :data:`FORWARD_SHARE` forwards (claims stay sized to the free
  slots, so at most ``FORWARD_SHARE * max_deliveries`` messages are held). When it fails,
  each target bus's share is tried alone, then one by one down the path below;
* a failure: ``core.retry.decide_delivery`` answers. A retry hides the message again until
  the backoff time (``change_visibility``): the queue's receive count is the attempt
  count, so a retry costs one UPDATE. A give-up deletes the message and sends the event
  to the target's DLQ with AWS's attributes, in one transaction (or drops it when the
  target has no DLQ);
* the rule or target is gone from this process's definitions: ``NO_RESOURCE``,
  dead-lettered without retries.

A process that dies mid-delivery loses nothing: the message reappears after its
visibility timeout, and that receive counts as an attempt (at-least-once delivery).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from stormproof.bus import forwarding
from stormproof.bus import schedule as bus_schedule
from stormproof.bus.bus import Bus
from stormproof.bus.forwarding import ATTEMPT_TIMEOUT
from stormproof.bus.forwarding import tries as _tries
from stormproof.bus.publish import (
    DeadLetter,
    compact,
    dead_letter_op,
    delivery_queue,
    payload_value,
)
from stormproof.bus.services import BusServices
from stormproof.bus.targets import HttpTarget, Target, is_state_machine, start_machine
from stormproof.core import queue_rules as rules
from stormproof.core.queue_rules import MAX_DELAY
from stormproof.core.retry import DeliveryFailure, GiveUp, RetryPolicy, decide_delivery
from stormproof.engine import events, injection, tracing
from stormproof.engine.breakers import Permit
from stormproof.engine.consumer import IDLE_WAIT
from stormproof.engine.http_sender import HttpFailure
from stormproof.engine.limits import MIN_WAIT
from stormproof.engine.waiting import nap_until_visible
from stormproof.errors import (
    ExecutionAlreadyExists,
    InjectedFault,
    StaleLease,
    StormproofError,
    Throttled,
)
from stormproof.storage.base import (
    ChangeVisibility,
    ClaimedRow,
    Delete,
    Enqueue,
    Lease,
    Operation,
)

log = logging.getLogger("stormproof.bus")

VISIBILITY_TIMEOUT = 120.0  # longer than any delivery attempt may last
FORWARD_SHARE = 4  # forwards in one unit that take one slot of max_deliveries


class DeliveryConsumer:
    """Claims and delivers one bus's deliveries, ``manager.max_deliveries`` at once."""

    def __init__(self, manager: BusServices, bus: Bus) -> None:
        self.manager = manager
        self.bus = bus
        self.queue = delivery_queue(bus.name)
        self.slots = asyncio.Semaphore(manager.max_deliveries)
        self.free = manager.max_deliveries
        self.inflight: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Claim and deliver until ``stop`` is set."""
        while not stop.is_set():
            try:
                mark = self.manager.app.store.wake_mark([self.queue])  # no lost wake-up
                claimed = await self.poll_once()
                if not claimed:
                    await self._idle(stop, mark)
                elif self.free <= 0:
                    await asyncio.wait(self.inflight, return_when=asyncio.FIRST_COMPLETED)
            except Exception:
                log.exception("event=delivery.loop_error queue=%s", self.queue)
                await self.manager.app.clock.sleep(1.0)

    async def poll_once(self) -> int:
        """Claim as many messages as there are free slots and start delivering them."""
        if self.free <= 0:
            return 0
        store = self.manager.app.store
        attrs = self.manager.app.attributes_of(self.queue)
        rows = await store.claim(self.queue, attrs, self.free, VISIBILITY_TIMEOUT)
        forwards: list[tuple[ClaimedRow, dict[str, Any]]] = []
        for row in rows:  # sized to the free slots: none is refused
            body = json.loads(row.body)
            if self._forwardable(body):
                forwards.append((row, body))  # body["dest"]: the bus it names now
            else:
                self.accept(row, body)
        if forwards:
            work = forwarding.forward_batch(self.manager, self.queue, forwards, self._handle)
            self._start(work, -(-len(forwards) // FORWARD_SHARE))
        return len(rows)

    def _forwardable(self, body: dict[str, Any]) -> bool:
        """A delivery to another bus that can share one unit with others (no fault to
        inject, no breaker): the rest go one by one."""
        if body.get("k") != "deliver" or body.get("kind") != "bus" or injection.injector:
            return False
        rule = self.bus.rules.get(body["rule"])
        target = rule.target(body["target"]) if rule is not None else None
        if target is None or target.kind != "bus":
            return False
        body["dest"] = target.name  # as the one-by-one path forwards: to today's definition
        return getattr(target.destination, "breaker", None) is None

    def accept(self, row: ClaimedRow, body: dict[str, Any] | None = None) -> None:
        """Start delivering a claimed message; ``Throttled`` once ``max_deliveries`` are
        in flight (the bound of this buffer). A refused message is left as claimed: it
        reappears after its visibility timeout, nothing is lost."""
        if len(self.inflight) >= self.manager.max_deliveries:
            raise Throttled(
                self.queue,
                f"{self.queue!r}: {len(self.inflight)} deliveries in flight "
                f"(max_deliveries={self.manager.max_deliveries})",
                retry_after=IDLE_WAIT,
            )
        self._start(self._handle(row, body), 1)

    def _start(self, work: Coroutine[Any, Any, None], slots: int) -> None:
        """Run ``work`` as a task holding ``slots`` of the free slots until it ends."""
        self.free -= slots
        task = asyncio.create_task(work)
        self.inflight.add(task)
        task.add_done_callback(lambda done: self._done(done, slots))

    def _done(self, task: asyncio.Task[None], slots: int) -> None:
        self.inflight.discard(task)
        self.free += slots

    async def wait_idle(self) -> None:
        """Wait until every started delivery has finished."""
        while self.inflight:
            await asyncio.gather(*list(self.inflight), return_exceptions=True)

    async def _idle(self, stop: asyncio.Event, mark: int) -> None:
        app, stopping = self.manager.app, stop.wait()
        await nap_until_visible(app.store, app.clock, self.queue, IDLE_WAIT, stopping, since=mark)

    # --- one message -----------------------------------------------------------------

    async def _handle(self, row: ClaimedRow, parsed: dict[str, Any] | None = None) -> None:
        try:
            body = json.loads(row.body) if parsed is None else parsed
            if body.get("k") == "tick":
                await bus_schedule.fire(self.manager, self.bus, row, body)
            else:
                with tracing.processing_rows(self.queue, [row], _tries(row, body)):
                    await self._deliver(row, body)
        except Exception:
            # Left alone, the message reappears after its visibility timeout.
            log.exception("event=delivery.error queue=%s message_id=%s", self.queue, row.message_id)

    async def _deliver(self, row: ClaimedRow, body: dict[str, Any]) -> None:
        body.setdefault("delivery", row.message_id)  # stable across retries (and pauses)
        rule = self.bus.rules.get(body["rule"])
        target = rule.target(body["target"]) if rule is not None else None
        payload = body["payload"] if body["payload"] is not None else compact(body["event"])
        if target is None or target.kind != body["kind"]:
            failure: DeliveryFailure | None = DeliveryFailure.missing_destination(
                f"rule {body['rule']!r} has no target {body['target']!r} in this process"
            )
        else:
            breaker = getattr(target.destination, "breaker", None)
            permit = await breaker.try_admit() if breaker is not None else None
            if breaker is not None and not isinstance(permit, Permit):
                await self._pause(row, body, permit)
                return
            failure = await self._attempt(target, payload, body)
            if isinstance(permit, Permit):
                await breaker.done(permit, failure is not None)  # type: ignore[union-attr]
        lease = Lease(row.rowid, row.token)
        if failure is None:
            await self.manager.keeper.delete(self.queue, [lease])
            return
        await self._failed(row, lease, body, failure)

    async def _attempt(
        self, target: Target, payload: str, body: dict[str, Any]
    ) -> DeliveryFailure | None:
        """One delivery try; None on success."""
        dest = target.destination
        try:
            if injection.injector is not None:  # a chaos fault fails this delivery
                await injection.injector.strike(f"bus-target:{self.bus.name}/{body['rule']}")
            if isinstance(dest, HttpTarget):
                return await self._http(dest, payload, body["event_id"])
            async with asyncio.timeout(ATTEMPT_TIMEOUT):
                if target.kind == "bus":
                    await self._forward(target, body)
                elif target.kind == "state_machine" and is_state_machine(dest):
                    with contextlib.suppress(ExecutionAlreadyExists):
                        await start_machine(dest, payload_value(payload), body["delivery"])
                else:
                    return DeliveryFailure.missing_destination(f"{target.name!r} unknown here")
        except TimeoutError:
            return DeliveryFailure.timeout()
        except InjectedFault as exc:
            return DeliveryFailure.http(exc.status or 500, str(exc))
        except Throttled as exc:
            return DeliveryFailure.http(429, str(exc))
        except Exception as exc:
            return DeliveryFailure.http(500, f"{type(exc).__name__}: {exc}")
        return None

    async def _http(self, dest: HttpTarget, payload: str, event_id: str) -> DeliveryFailure | None:
        if dest.limit is not None:  # global: every process's deliveries share the rate
            clock = self.manager.app.clock
            while not await dest.limit.take(1):
                await clock.sleep(max(MIN_WAIT, dest.limit.retry_after))
        elif dest.limiter is not None:
            await dest.limiter.acquire(self.manager.app.clock)
        if injection.injector is not None:  # a chaos fault as if the endpoint answered it
            await injection.injector.strike(f"http-target:{dest.url}")
        data = payload.encode()
        headers = dest.request_headers(data, event_id, self.manager.app.clock.now())
        tracing.add_header(headers, urlsplit(dest.url).netloc)
        try:
            status = await self.manager.http.request(
                dest.method, dest.url, headers, data, dest.timeout
            )
        except HttpFailure as exc:
            return DeliveryFailure.timeout(str(exc))
        return None if 200 <= status < 300 else DeliveryFailure.http(status)

    async def _pause(self, row: ClaimedRow, body: dict[str, Any], retry_at: float | None) -> None:
        """The target's breaker is open: the delivery waits in the queue until ``retry_at``.

        The receive that found it open is no attempt: the message is replaced (in one
        transaction) by a copy delayed to ``retry_at`` that carries the attempts made so far.
        """
        app = self.manager.app
        now = app.clock.now()
        delay = min(float(MAX_DELAY), max(1.0, (retry_at or now + 1.0) - now))
        body["tries"] = _tries(row, body)
        attrs = app.attributes_of(self.queue)
        msg = rules.prepare_message(attrs, json.dumps(body, separators=(",", ":")), delay)
        ops: list[Operation] = [
            Delete(self.queue, [Lease(row.rowid, row.token)]),
            Enqueue(self.queue, [msg], attrs.dedup_window, attrs.fifo),
        ]
        with contextlib.suppress(StaleLease):  # someone else holds it now: they decide
            await app.store.apply(ops, atomic=True)
        log.info(
            "event=delivery.paused rule=%s target=%s event_id=%s delay=%.3f reason=breaker",
            body["rule"],
            body["target"],
            body["event_id"],
            delay,
        )

    async def _forward(self, target: Target, body: dict[str, Any]) -> None:
        """Publish the event on another bus; raises on failure."""
        other = await self.manager.get(target.name)
        ops = other.publish_ops([body["event"]], self.manager.app.clock.now())
        await self.manager.app.store.apply(ops, atomic=True)

    async def _failed(
        self, row: ClaimedRow, lease: Lease, body: dict[str, Any], failure: DeliveryFailure
    ) -> None:
        clock = self.manager.app.clock
        retries = _tries(row, body)  # the first try is not a retry
        policy = RetryPolicy(body["max_retry_attempts"], body["max_event_age"])
        decision = decide_delivery(
            policy,
            attempts_so_far=retries,
            first_attempt_at=datetime.fromtimestamp(body["first_at"], UTC),
            now=datetime.fromtimestamp(clock.now(), UTC),
            outcome=failure,
            rng=self.manager.rng,
        )
        if isinstance(decision, GiveUp):
            await self._give_up(lease, body, retries, decision)
        else:
            await self._retry_later(lease, body, retries, decision.delay, failure)

    async def _retry_later(
        self,
        lease: Lease,
        body: dict[str, Any],
        retries: int,
        delay: float,
        failure: DeliveryFailure,
    ) -> None:
        """Hide the delivery for ``delay`` seconds, then it is tried again."""
        op = ChangeVisibility(self.queue, [lease], [delay])
        await self.manager.app.store.apply([op])
        log.info(
            "event=delivery.retry_scheduled rule=%s target=%s event_id=%s attempt=%d "
            "delay=%.3f error_code=%s",
            body["rule"],
            body["target"],
            body["event_id"],
            retries + 1,
            delay,
            failure.error_code,
        )
        events.emit(
            "delivery.failed",
            self.manager.app.name,
            rule=body["rule"],
            target=body["target"],
            event_id=body["event_id"],
            attempt=retries + 1,
            error_type=failure.error_code,
            retry_in=delay,
        )

    async def _give_up(
        self, lease: Lease, body: dict[str, Any], retries: int, decision: GiveUp
    ) -> None:
        """Delete the delivery, and dead-letter it when its target has a DLQ."""
        letter = DeadLetter(
            body["rule_arn"],
            body["target_arn"],
            body["dlq"],
            decision.exhausted_condition,
            decision.error_code,
            decision.error_message,
            retries,
        )
        ops: list[Operation] = [Delete(self.queue, [lease])]
        try:
            dlq = dead_letter_op(self.manager.app, letter, body["event"])
        except StormproofError:
            dlq = None
        if dlq is not None:
            ops.append(dlq)
        with contextlib.suppress(StaleLease):  # someone else holds it now: they decide
            await self.manager.app.store.apply(ops, atomic=True)
