"""Faults on the front door over real HTTP: a route answering 503 (and 429), a webhook
delivery failing until it dead-letters, and the admin endpoints behind the token."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import pytest

from stormproof import App
from stormproof.chaos import Fault
from stormproof.storage.request_ops import WEBHOOK_DLQ
from stormproof.worker import Worker
from tests.http import frontdoor_app as fa
from tests.http.server import serving
from tests.http.test_webhooks import Receiver, receiving

TOKEN = "adm-" + "c" * 40


@contextlib.contextmanager
def chaos_on(app: App) -> Iterator[App]:
    """The shared front-door test app, obeying faults for this test only."""
    app.chaos.enabled = True
    try:
        yield app
    finally:
        app.chaos.enabled = False


async def _refreshed(app: App) -> None:
    assert app.chaos._view is not None
    await app.chaos._view.refresh()


@contextlib.asynccontextmanager
async def controller(url: str) -> AsyncIterator[App]:
    async with App(fa.app.name, url, chaos=False) as app:
        yield app


async def test_a_route_fault_answers_its_status_then_the_route_recovers(store_url: str) -> None:
    fa.app.store_url = store_url
    with chaos_on(fa.app):
        async with serving(fa.app, webhooks=False) as client, controller(store_url) as control:
            await control.chaos.inject(
                Fault("route:POST /orders", "error", status=503, duration=30)
            )
            await control.chaos.inject(Fault("route:GET /hello/{name}", "throttle"))
            await _refreshed(fa.app)
            refused = await client.post("/orders", json={"qty": 1})
            assert refused.status_code == 503
            assert refused.json()["type"].endswith("/injected-fault")
            assert (await client.get("/hello/x")).status_code == 429
            assert (await client.post("/bookings", json={})).status_code == 202  # untouched
            await control.chaos.stop()
            await _refreshed(fa.app)
            assert (await client.post("/orders", json={"qty": 1})).status_code == 202


async def test_a_webhook_fault_fails_every_delivery_until_dead_lettered(store_url: str) -> None:
    fa.app.store_url = store_url
    receiver = Receiver([])
    with chaos_on(fa.app):
        async with (
            receiving(receiver) as url,
            serving(fa.app) as client,
            controller(store_url) as control,
        ):
            await control.chaos.inject(Fault("webhook:/orders", "error", status=503))
            await _refreshed(fa.app)
            r = await client.post("/orders", json={"qty": 2, "callback_url": url})
            assert r.status_code == 202
            worker = Worker(fa.app, concurrency=2)
            task = asyncio.create_task(worker.run())
            try:
                for _ in range(500):
                    if (await fa.app.store.counts(WEBHOOK_DLQ)).visible == 1:
                        break
                    await asyncio.sleep(0.02)
            finally:
                worker.stop()
                await task
            (info,) = await control.chaos.faults()
    assert (await _dlq_depth(store_url)) == 1
    assert receiver.seen == []  # every attempt got the injected 503 instead
    assert info["injected"] >= 1


async def _dlq_depth(url: str) -> int:
    async with App("probe", url) as app:
        return (await app.store.counts(WEBHOOK_DLQ)).visible


async def test_admin_chaos_endpoints_need_the_admin_token(store_url: str) -> None:
    fa.app.store_url = store_url
    auth = {"authorization": f"Bearer {TOKEN}"}
    fault = {"target": "function:resize", "action": "error", "duration": 5}
    async with serving(fa.app, webhooks=False) as client:  # no token: not even routed
        assert (
            await client.post("/admin/chaos/faults", json=fault, headers=auth)
        ).status_code == 404
    fa.app.api.settings.admin_token = TOKEN
    try:
        async with serving(fa.app, webhooks=False) as client:
            for headers in ({}, {"authorization": "Bearer wrong"}):
                for call in (client.get, client.delete):
                    assert (await call("/admin/chaos/faults", headers=headers)).status_code == 403
                post = await client.post("/admin/chaos/faults", json=fault, headers=headers)
                assert post.status_code == 403
            assert await fa.app.chaos.faults() == []  # nothing was injected without the token
            made = await client.post("/admin/chaos/faults", json=fault, headers=auth)
            assert made.status_code == 201 and made.json()["fault"]["target"] == "function:resize"
            bad = {**fault, "probability": 2}
            refused = await client.post("/admin/chaos/faults", json=bad, headers=auth)
            assert refused.status_code == 400
            assert refused.json()["errors"][0]["field"] == "probability"
            listed = (await client.get("/admin/chaos/faults", headers=auth)).json()
            assert [i["id"] for i in listed] == [made.json()["id"]]
            one = await client.delete(f"/admin/chaos/faults/{made.json()['id']}", headers=auth)
            assert one.json() == {"removed": 1}
            assert (await client.delete("/admin/chaos/faults", headers=auth)).json() == {
                "removed": 0
            }
    finally:
        fa.app.api.settings.admin_token = None


@pytest.fixture(autouse=True)
def _reset_front_door_app() -> Iterator[None]:
    yield
    fa.app.chaos.enabled = False
