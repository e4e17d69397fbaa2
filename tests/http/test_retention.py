"""The maintenance pass sweeps request records and idempotency keys past retention."""

from __future__ import annotations

import asyncio

from stormproof.gateway.idempotency import PREFIX as IDEMPOTENCY_PREFIX
from stormproof.storage.request_ops import PREFIX as REQUEST_PREFIX
from tests.http import frontdoor_app as fa
from tests.http.server import serving


async def test_maintenance_sweeps_expired_records_and_keys(store_url: str) -> None:
    fa.app.store_url = store_url
    settings = fa.app.api.settings
    kept = (settings.request_retention, settings.idempotency_retention)
    try:
        async with serving(fa.app) as client:
            store = fa.app.store
            r = await client.post("/orders", json={"qty": 1}, headers={"Idempotency-Key": "a"})
            status_url = r.json()["status_url"]
            await fa.app.run_maintenance()  # within retention: all kept
            assert (await client.get(status_url)).status_code == 200
            assert len(await store.list_states(IDEMPOTENCY_PREFIX)) == 1
            settings.idempotency_retention = 0.0
            await asyncio.sleep(0.05)
            await fa.app.run_maintenance()
            assert await store.list_states(IDEMPOTENCY_PREFIX) == []
            assert (await client.get(status_url)).status_code == 200
            settings.request_retention = 0.0
            await fa.app.run_maintenance()
            assert await store.list_states(REQUEST_PREFIX) == []
            gone = await client.get(status_url)
            assert gone.status_code == 404 and gone.json()["type"].endswith("/request-not-found")
    finally:
        settings.request_retention, settings.idempotency_retention = kept
