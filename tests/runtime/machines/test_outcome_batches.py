"""Outcome units sharing a transaction keep their own results: a stale one fails alone,
the others commit (both stores; the sharing happens on PostgreSQL)."""

from __future__ import annotations

import asyncio

import pytest

from stormproof import App
from stormproof.errors import StaleLease
from stormproof.machines.outcome_batches import OutcomeBatches
from stormproof.machines.step_messages import INTERNAL, message
from stormproof.storage.base import Delete, Enqueue, Lease


async def test_a_stale_unit_fails_alone_and_the_others_commit(store_url: str) -> None:
    async with App("b", store_url) as app:
        store = app.store
        await store.apply([Enqueue("_sfn-t", [message({"n": i}) for i in range(4)])])
        rows = await store.claim("_sfn-t", INTERNAL, 4, 30)
        leases = [Lease(r.rowid, r.token) for r in rows]
        batches = OutcomeBatches(store)
        assert batches.shared == store_url.startswith("postgres")
        units = [
            [Enqueue("_sfn-out", [message({"i": i})]), Delete("_sfn-t", [lease])]
            for i, lease in enumerate(leases)
        ]
        units[2][1] = Delete("_sfn-t", [Lease(leases[2].rowid, "not-the-token")])
        results = await asyncio.gather(*(batches.apply(u) for u in units), return_exceptions=True)
        assert [r is None for r in results] == [True, True, False, True]
        assert isinstance(results[2], StaleLease) and results[2].index == 1
        assert (await store.counts("_sfn-out")).visible == 3  # nothing of the stale unit
        with pytest.raises(StaleLease):
            await batches.apply([Delete("_sfn-t", [leases[0]])])  # already deleted once
