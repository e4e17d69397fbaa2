"""Deliveries to other buses claimed together commit in one unit of work per claim, however
many target buses there are (``stormproof.bus.forwarding``), on both stores; a target bus
that cannot be read fails alone: the other buses' shares are forwarded, its deliveries take
the one-by-one path with their retries and DLQ."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from stormproof import App, Queue, Target
from stormproof.bus.publish import delivery_queue
from stormproof.storage.base import Delete, Operation

ENTRY = {"source": "shop", "detail_type": "order", "detail": {"n": 1}}
HOPS, EVENTS = 3, 6


def _hops(app: App) -> tuple[list[Any], list[Queue]]:
    """``HOPS`` buses, each with one rule to a queue of its own."""
    buses, queues = [], []
    for i in range(HOPS):
        q = app.queue(f"sink-{i}")
        hop = app.bus(f"hop-{i}")
        hop.rule("all", pattern={"source": ["shop"]}, targets=[Target(q)])
        buses.append(hop)
        queues.append(q)
    return buses, queues


def _record_units(app: App) -> list[list[Operation]]:
    """Every atomic unit deleting from the source bus's delivery queue, as applied (the real
    store applies them: this only records)."""
    units: list[list[Operation]] = []
    apply = app.store.apply
    queue = delivery_queue("default")

    async def recording(ops: Sequence[Operation], *, atomic: bool = False) -> Any:
        if atomic and any(isinstance(op, Delete) and op.queue == queue for op in ops):
            units.append(list(ops))
        return await apply(ops, atomic=atomic)

    app.store.apply = recording  # type: ignore[method-assign]
    return units


async def _event_ids(q: Queue) -> list[str]:
    return [json.loads(m.body)["id"] for m in await q.receive(10)]


async def test_one_claim_to_several_buses_commits_in_one_unit(store_url: str) -> None:
    app = App("fwd", store_url)
    app.buses.background = False
    hops, queues = _hops(app)
    targets = [Target(hop, id=f"t{i}") for i, hop in enumerate(hops)]
    app.bus("default").rule("fan", pattern={"source": ["shop"]}, targets=targets)
    async with app:
        result = await app.bus("default").put_events([ENTRY] * EVENTS)
        ids = sorted(str(e.event_id) for e in result.entries)
        units = _record_units(app)
        assert await app.buses.run_once() == EVENTS * HOPS
        [unit] = units  # one claim, three target buses: one unit
        [delete] = [op for op in unit if isinstance(op, Delete)]
        assert len(delete.leases) == EVENTS * HOPS
        for q in queues:
            assert sorted(await _event_ids(q)) == ids
        counts = await app.store.counts(delivery_queue("default"))
        assert counts.visible + counts.in_flight + counts.delayed == 0


async def test_an_unreadable_target_bus_fails_alone(store_url: str) -> None:
    app = App("fwd", store_url)
    app.buses.background = False
    hops, queues = _hops(app)
    dlq = app.queue("dlq")
    ghost = App("elsewhere", store_url).bus("ghost")  # in no catalog of this store
    targets = [Target(hop, id=f"t{i}") for i, hop in enumerate(hops)]
    targets.append(Target(ghost, id="ghost", max_retry_attempts=0, dead_letter=dlq))
    app.bus("default").rule("fan", pattern={"source": ["shop"]}, targets=targets)
    async with app:
        result = await app.bus("default").put_events([ENTRY] * EVENTS)
        ids = sorted(str(e.event_id) for e in result.entries)
        assert await app.buses.run_once() == EVENTS * (HOPS + 1)
        for q in queues:  # the readable buses' shares, forwarded once each
            assert sorted(await _event_ids(q)) == ids
            assert await q.receive(10) == []
        assert sorted(await _event_ids(dlq)) == ids  # the ghost's: tried, dead-lettered
        counts = await app.store.counts(delivery_queue("default"))
        assert counts.visible + counts.in_flight + counts.delayed == 0
