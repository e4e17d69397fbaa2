"""Group commit of front-door units: a failing unit sinks only itself."""

from __future__ import annotations

import asyncio

import pytest

from stormproof import App
from stormproof.errors import InvalidAttribute, StaleLease, TooManyRequests
from stormproof.gateway.batcher import UnitBatcher
from stormproof.storage.base import CompareAndSet


async def test_units_commit_together_and_a_conflict_sinks_only_its_unit(store_url: str) -> None:
    async with App("batch", store_url) as app:
        batcher = UnitBatcher(lambda: app.store)
        units = [[CompareAndSet(f"u/{i}", None, "x"), CompareAndSet(f"v/{i}", None, "y")]
                 for i in range(20)]  # fmt: skip
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
