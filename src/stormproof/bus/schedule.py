"""Scheduled rules as durable timers: each tick fires once across every process.

A scheduled rule has a state record ``bus-schedule/<bus>/<rule>`` (its expression) and
exactly one *tick* message on the bus's delivery queue, hidden until the next firing time
and carrying the record's version. Whoever claims the tick (one process, by the lease)
commits in **one** unit of work: the tick's deletion, the record's version bump (a
compare-and-set), the next tick, and the scheduled event's deliveries. A stale lease or a
changed record rolls all of it back, so a tick never fires twice; a process that dies
mid-tick leaves the tick to reappear and fire elsewhere.

Ticks missed while no process ran fire once, late; the next one is the first firing time
after now (no burst of catch-up events). A tick further away than :data:`HORIZON` is
re-armed on the way, so messages never outlive the queue's retention.
"""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from stormproof.bus.bus import Bus
from stormproof.bus.events import ACCOUNT, REGION, format_time
from stormproof.bus.publish import Plan, compact, delivery_queue
from stormproof.bus.rules import Rule
from stormproof.bus.services import BusServices
from stormproof.core.queue_rules import OutgoingMessage
from stormproof.errors import StaleLease
from stormproof.storage.base import (
    ClaimedRow,
    CompareAndSet,
    Delete,
    DeleteState,
    Enqueue,
    Lease,
    Operation,
)

log = logging.getLogger("stormproof.bus")

HORIZON = 6 * 3600.0


def state_key(bus: str, rule: str) -> str:
    """The state record of a scheduled rule."""
    return f"bus-schedule/{bus}/{rule}"


def _tick(manager: BusServices, bus: str, rule: str, at: float, version: int) -> Enqueue:
    """The tick message, hidden until ``at`` (at most HORIZON ahead)."""
    body = compact({"k": "tick", "rule": rule, "at": at, "v": version})
    delay = max(0.0, min(at - manager.app.clock.now(), HORIZON))
    # Built directly: a timer may wait longer than a send's 900 s delay limit.
    msg = OutgoingMessage(body, None, delay, None, None, len(body.encode()))
    return Enqueue(delivery_queue(bus), [msg])


def _next_at(rule: Rule, after: float) -> float | None:
    assert rule.timer is not None
    nxt = rule.timer.next_after(datetime.fromtimestamp(after, UTC))
    return None if nxt is None else nxt.timestamp()


async def reconcile(manager: BusServices, bus: Bus) -> None:
    """Give each scheduled rule exactly one tick; retire ticks of changed or removed rules."""
    store = manager.app.store
    now = manager.app.clock.now()
    existing = {r.key: r for r in await store.list_states(state_key(bus.name, ""))}
    for rule in bus.rules.values():
        if rule.schedule is None:
            continue
        key = state_key(bus.name, rule.name)
        rec = existing.pop(key, None)
        if rec is not None and json.loads(rec.value)["expression"] == rule.schedule:
            continue
        at = _next_at(rule, now)
        version = 1 if rec is None else rec.version + 1
        value = json.dumps({"expression": rule.schedule})
        ops: list[Operation] = [CompareAndSet(key, rec.version if rec else None, value)]
        if at is not None:
            ops.append(_tick(manager, bus.name, rule.name, at, version))
        with contextlib.suppress(StaleLease):  # another process did it first
            await store.apply(ops, atomic=True)
    for key, rec in existing.items():  # rules no longer scheduled: their ticks go stale
        await store.apply([DeleteState(key, rec.version)])


async def fire(manager: BusServices, bus: Bus, row: ClaimedRow, body: dict[str, Any]) -> None:
    """Handle a claimed tick: fire it (once), re-arm it, or drop it when stale."""
    store, queue = manager.app.store, delivery_queue(bus.name)
    lease = Delete(queue, [Lease(row.rowid, row.token)])
    key = state_key(bus.name, body["rule"])
    rec = await store.get_state(key)
    rule = bus.rules.get(body["rule"])
    if rec is None or rec.version != body["v"] or rule is None or rule.schedule is None:
        await store.apply([lease])  # a timer of an old definition
        return
    now = manager.app.clock.now()
    at = float(body["at"])
    bump = CompareAndSet(key, rec.version, rec.value)
    ops: list[Operation] = [lease, bump]
    if now < at:  # woken at the horizon: wait further
        ops.append(_tick(manager, bus.name, rule.name, at, rec.version + 1))
    else:
        nxt = _next_at(rule, max(now, at))
        if nxt is not None:
            ops.append(_tick(manager, bus.name, rule.name, nxt, rec.version + 1))
        if rule.enabled:
            plan = Plan(manager.app, bus.name, now)
            plan.add(scheduled_event(rule, at), [rule])
            ops += plan.ops()
    try:
        await store.apply(ops, atomic=True)
    except StaleLease:
        return  # another process fired it, or the rule changed meanwhile
    if now >= at:
        log.info(
            "event=schedule.fired rule=%s at=%s enabled=%s", rule.arn, format_time(at), rule.enabled
        )


def scheduled_event(rule: Rule, at: float) -> dict[str, Any]:
    """The event a scheduled rule sends (AWS's "Scheduled Event" from ``aws.events``)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": format_time(at),
        "region": REGION,
        "resources": [rule.arn],
        "detail": {},
    }
