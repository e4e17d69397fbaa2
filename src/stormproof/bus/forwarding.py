"""Forwarding the claimed deliveries to other buses: one unit of work per claim.

The deliveries of one claim that go to other buses, whatever the number of those buses,
are forwarded in one atomic unit: every target bus's publish operations and one delete of
all their delivery messages. The messages are deleted only in the unit that writes their
forwards, so a forward that committed is never repeated, and one that did not is retried.

When that unit fails (a stale lease, the store refused it, it took too long), each target
bus's share is tried again in a unit of its own, so one bad target does not hold back the
others; a share that fails again, or whose bus cannot be read, takes the one-by-one path
(``one_by_one``: its retries and DLQ per target, as any delivery).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from stormproof.bus.services import BusServices
from stormproof.engine import tracing
from stormproof.storage.base import ClaimedRow, Delete, Lease, Operation

ATTEMPT_TIMEOUT = 60.0  # as long as one delivery attempt may last

Pair = tuple[ClaimedRow, dict[str, Any]]
OneByOne = Callable[[ClaimedRow, dict[str, Any]], Awaitable[None]]


def tries(row: ClaimedRow, body: dict[str, Any]) -> int:
    """Attempts made before this receive: earlier copies' (paused by a breaker) and this one's."""
    return int(body.get("tries", 0)) + row.receive_count - 1


async def forward_batch(
    services: BusServices, queue: str, batch: Sequence[Pair], one_by_one: OneByOne
) -> None:
    """Forward ``batch`` (deliveries claimed from ``queue``, each ``body["dest"]`` naming
    its target bus) in one unit of work; see the module docstring for failures."""
    groups = _by_bus(batch)
    rows = [row for row, _ in batch]
    try:
        with tracing.processing_rows(queue, rows, tries(*batch[0])):
            async with asyncio.timeout(ATTEMPT_TIMEOUT):
                await _apply(services, queue, groups)
        return
    except Exception:
        if len(groups) == 1:  # its own unit has just failed
            await _each(one_by_one, batch)
            return
    for group in groups.values():  # the buses one at a time: one bad bus fails alone
        await _alone(services, queue, group, one_by_one)


async def _alone(
    services: BusServices, queue: str, group: list[Pair], one_by_one: OneByOne
) -> None:
    """One target bus's share in a unit of its own, else one by one."""
    try:
        with tracing.processing_rows(queue, [row for row, _ in group], tries(*group[0])):
            async with asyncio.timeout(ATTEMPT_TIMEOUT):
                await _apply(services, queue, {group[0][1]["dest"]: group})
    except Exception:
        await _each(one_by_one, group)


async def _apply(services: BusServices, queue: str, groups: dict[str, list[Pair]]) -> None:
    """Publish each group on its bus and delete every group's delivery messages, atomically."""
    app = services.app
    now = app.clock.now()
    ops: list[Operation] = []
    leases: list[Lease] = []
    for name, group in groups.items():
        other = await services.get(name)
        ops.extend(other.publish_ops([body["event"] for _, body in group], now))
        leases.extend(Lease(row.rowid, row.token) for row, _ in group)
    ops.append(Delete(queue, leases))
    await app.store.apply(ops, atomic=True)


async def _each(one_by_one: OneByOne, group: Sequence[Pair]) -> None:
    await asyncio.gather(*(one_by_one(row, body) for row, body in group))


def _by_bus(batch: Sequence[Pair]) -> dict[str, list[Pair]]:
    groups: dict[str, list[Pair]] = {}
    for row, body in batch:
        groups.setdefault(body["dest"], []).append((row, body))
    return groups
