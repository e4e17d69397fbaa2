"""Group commit of front-door units: a failing unit sinks only itself; coalesced units
keep each request's record, message and trace context."""

from __future__ import annotations

import asyncio

import pytest

from stormproof import App
from stormproof.core import queue_rules, trace_context
from stormproof.errors import InvalidAttribute, StaleLease, TooManyRequests
from stormproof.gateway.batcher import UnitBatcher, coalesce
from stormproof.storage.base import CompareAndSet, DeleteState, Enqueue
from stormproof.storage.state_bulk_ops import InsertStates

TRACE = "00-{:032x}-00f067aa0ba902b7-01"


async def test_units_commit_together_and_a_conflict_sinks_only_its_unit(store_url: str) -> None:
    async with App("batch", store_url) as app:
        batcher = UnitBatcher(lambda: app.store)
        units = [
            [CompareAndSet(f"u/{i}", None, "x"), CompareAndSet(f"v/{i}", None, "y")]
            for i in range(20)
        ]
        units.append([CompareAndSet("u/3", None, "again")])  # conflicts with unit 3
        outcomes = await asyncio.gather(*(batcher.apply(u) for u in units), return_exceptions=True)
        assert [type(o) for o in outcomes].count(StaleLease) == 1
        assert sum(o is None for o in outcomes) == 20
        assert (
            len(await app.store.list_states("u/")) == len(await app.store.list_states("v/")) == 20
        )
        assert (await app.store.get_state("u/3")).value == "x"  # type: ignore[union-attr]
        with pytest.raises(StaleLease):
            await batcher.apply([CompareAndSet("v/0", None, "z")])


async def test_the_pending_queue_is_bounded_and_refuses_with_a_retry_after(
    store_url: str,
) -> None:
    async with App("batch", store_url) as app:
        batcher = UnitBatcher(lambda: app.store, max_pending=3)
        units = [[CompareAndSet(f"b/{i}", None, "x")] for i in range(5)]
        outcomes = await asyncio.gather(*(batcher.apply(u) for u in units), return_exceptions=True)
        refused = [o for o in outcomes if isinstance(o, TooManyRequests)]
        assert len(refused) == 2 and sum(o is None for o in outcomes) == 3
        assert all(r.fields["retry_after"] == 1.0 for r in refused)
        assert all(r.fields["limit"] == "buffer" for r in refused)
        assert len(await app.store.list_states("b/")) == 3  # nothing half: refused units absent
        await batcher.apply([CompareAndSet("b/9", None, "x")])  # drained: accepted again


def test_the_bound_is_validated() -> None:
    with pytest.raises(InvalidAttribute) as info:
        UnitBatcher(lambda: None, max_pending=0)  # type: ignore[arg-type,return-value]
    assert info.value.field == "max_pending"


async def test_coalesced_sends_keep_each_requests_message_and_trace(store_url: str) -> None:
    app = App("batch", store_url)
    app.queue("orders")
    async with app:
        attrs = app.attributes_of("orders")

        def unit(i: int) -> list[CompareAndSet | Enqueue]:
            msg = queue_rules.prepare_message(attrs, f'{{"n":{i}}}', None, {"req": str(i)})
            send = Enqueue("orders", [msg], attrs.dedup_window, attrs.fifo, TRACE.format(i + 1))
            return [CompareAndSet(f"request:{i}", None, str(i)), send]

        batcher = UnitBatcher(lambda: app.store)
        await asyncio.gather(*(batcher.apply(unit(i)) for i in range(40)))
        assert len(await app.store.list_states("request:")) == 40
        rows = await app.store.claim("orders", attrs, 40, 30.0)
        assert len(rows) == 40
        for row in rows:
            n = int(row.body[5:-1])
            assert trace_context.read(row.attributes) == TRACE.format(n + 1)
            assert '"req"' in (row.attributes or "") and str(n) in (row.attributes or "")


def test_coalesce_merges_records_and_sends_and_keeps_other_units_as_they_are() -> None:
    msg = queue_rules.OutgoingMessage("{}", None, 0.0, None, None, 2)
    simple = [CompareAndSet("k/1", None, "a"), Enqueue("q", [msg])]
    other = [DeleteState("k/2", 1), CompareAndSet("k/2", None, "b")]
    merged = coalesce([simple, other, simple[:1], [Enqueue("q", [msg, msg])]])
    assert isinstance(merged[0], InsertStates)
    assert [k for k, _ in merged[0].records] == ["k/1", "k/1"]
    assert isinstance(merged[1], Enqueue) and len(merged[1].messages) == 3
    assert merged[2:] == other
