"""Group commit of front-door units: a failing unit sinks only itself."""

from __future__ import annotations

import asyncio

import pytest

from stormproof import App
from stormproof.errors import StaleLease
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
