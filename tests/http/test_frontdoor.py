"""The front door over real HTTP (uvicorn on loopback, httpx), on both stores."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from stormproof.gateway.keys import create_key
from stormproof.storage.request_ops import ATTRIBUTE
from stormproof.worker import Worker
from tests.http import frontdoor_app as fa
from tests.http.server import serving


async def _poll(client: httpx.AsyncClient, request_id: str, state: str) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for _ in range(300):
        body = (await client.get(f"/requests/{request_id}")).json()
        if body["state"] == state:
            return body
        await asyncio.sleep(0.02)
    raise AssertionError(f"request {request_id} stuck in {body}")


async def test_post_stores_then_answers_202_and_status_follows_the_work(store_url: str) -> None:
    fa.app.store_url = store_url
    async with serving(fa.app) as client:
        r = await client.post("/orders", json={"qty": 3})
        assert r.status_code == 202
        body = r.json()
        assert set(body) == {"request_id", "status_url"}
        assert r.headers["location"] == body["status_url"] == f"/requests/{body['request_id']}"
        # Stored before the answer: the record and the message are both there already.
        status = (await client.get(body["status_url"])).json()
        assert status["state"] == "accepted" and status["request_id"] == body["request_id"]
        assert {"created", "updated"} <= set(status)
        [message] = await fa.orders.receive(visibility_timeout=0)
        assert message.attributes[ATTRIBUTE] == body["request_id"]
        worker = Worker(fa.app, concurrency=2)
        task = asyncio.create_task(worker.run())
        try:
            done = await _poll(client, body["request_id"], "succeeded")
        finally:
            worker.stop()
            await task
        assert done["result"] == {"total": 30}


async def test_function_machine_and_bus_routes(store_url: str) -> None:
    fa.app.store_url = store_url
    async with serving(fa.app) as client:
        ok = (await client.post("/resize", json={"w": 5})).json()["request_id"]
        bad = (await client.post("/resize", json={"fail": True})).json()["request_id"]
        booked = (await client.post("/bookings", json={"who": "ann"})).json()["request_id"]
        nobook = (await client.post("/nobook", json={})).json()["request_id"]
        event = await client.post("/events", json={"total": 7})
        assert event.status_code == 202
        # A bus request is final once stored: the event is routed in the same unit.
        routed = (await client.get(event.json()["status_url"])).json()
        assert routed["state"] == "succeeded" and routed["result"]["rules"] == []
        assert routed["result"]["event_id"]
        worker = Worker(fa.app, concurrency=2)
        task = asyncio.create_task(worker.run())
        try:
            assert (await _poll(client, ok, "succeeded"))["result"] == {"resized": 5, "request": ok}
            assert (await _poll(client, booked, "succeeded"))["result"] == {"booked": True}
            failed = await _poll(client, bad, "failed")
            # The closing step updated the record (nothing refreshes it at read time).
            refused = await _poll(client, nobook, "failed")
        finally:
            worker.stop()
            await task
        assert failed["error"]["error"]["errorType"] == "ValueError"
        assert failed["error"]["condition"] == "RetriesExhausted"
        assert refused["error"] == {"error": "Full", "cause": "no rooms"}


async def test_concurrent_posts_are_all_stored(store_url: str) -> None:
    fa.app.store_url = store_url
    async with serving(fa.app) as client:
        answers = await asyncio.gather(
            *(client.post("/orders", json={"qty": i + 1}) for i in range(50))
        )
        assert [a.status_code for a in answers] == [202] * 50
        assert (await fa.orders.stats()).visible == 50
        assert len({a.json()["request_id"] for a in answers}) == 50


async def test_idempotency_keys(store_url: str) -> None:
    fa.app.store_url = store_url
    async with serving(fa.app) as client:
        key = {"Idempotency-Key": "k-1"}
        first = await client.post("/orders", json={"qty": 1, "item": "a"}, headers=key)
        # Same key, same canonical body (other key order): the original answer, no new work.
        again = await client.post("/orders", content=b'{"item": "a", "qty": 1}', headers=key)
        assert again.status_code == 202 and again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"
        assert again.headers["location"] == first.headers["location"]
        assert (await fa.orders.stats()).visible == 1
        other = await client.post("/orders", json={"qty": 2}, headers=key)
        assert other.status_code == 422
        assert other.headers["content-type"] == "application/problem+json"
        assert other.json()["type"].endswith("/idempotency-key-reused")
        # Keys are scoped per client: another API key's same key is a new request.
        _, secret = await create_key(fa.app.store, "other", 0.0)
        mine = await client.post(
            "/orders", json={"qty": 1, "item": "a"}, headers={**key, "x-api-key": secret}
        )
        assert mine.json()["request_id"] != first.json()["request_id"]
        missing = await client.post("/strict", json={"qty": 1})
        assert missing.status_code == 400
        assert missing.json()["type"].endswith("/idempotency-key-missing")
    # The key survives a restart of the server (it is a row in the store).
    async with serving(fa.app) as client:
        replay = await client.post("/orders", json={"qty": 1, "item": "a"}, headers=key)
        assert replay.json() == first.json()
        assert (await fa.orders.stats()).visible == 2


async def test_concurrent_requests_with_one_key_do_the_work_once(store_url: str) -> None:
    fa.app.store_url = store_url
    async with serving(fa.app) as client:
        key = {"Idempotency-Key": "race"}
        answers = await asyncio.gather(
            *(client.post("/orders", json={"qty": 4}, headers=key) for _ in range(10))
        )
        assert {a.status_code for a in answers} == {202}
        assert len({a.json()["request_id"] for a in answers}) == 1
        assert (await fa.orders.stats()).visible == 1


async def test_throttle_answers_429_with_retry_after_and_stores_nothing(store_url: str) -> None:
    fa.app.store_url = store_url
    async with serving(fa.app) as client:
        codes = [(await client.post("/limited", json={"qty": 1})) for _ in range(6)]
        assert [c.status_code for c in codes[:3]] == [202] * 3
        refused = [c for c in codes[3:] if c.status_code == 429]
        assert refused, [c.status_code for c in codes]
        assert int(refused[0].headers["retry-after"]) >= 1
        assert refused[0].json()["type"].endswith("/too-many-requests")
        accepted = sum(c.status_code == 202 for c in codes)
        assert (await fa.orders.stats()).visible == accepted


async def test_bad_input_is_problem_details_naming_the_field(store_url: str) -> None:
    fa.app.store_url = store_url
    async with serving(fa.app) as client:
        r = await client.post("/orders", json={"qty": 0})
        assert r.status_code == 400
        problem = r.json()
        assert problem["type"].endswith("/payload-invalid")
        assert problem["errors"][0]["field"] == "qty"
        r = await client.post("/orders", json={"item": "x"})
        assert r.status_code == 400 and "qty" in r.json()["detail"]
        r = await client.post("/orders", content=b"{not json")
        assert r.status_code == 400 and "traceback" not in r.text.lower()
        r = await client.post("/orders", content=json.dumps({"qty": 1, "x": "y" * 300_000}))
        assert r.status_code == 413 and r.json()["limit"] == 256 * 1024
        deep: Any = 1
        for _ in range(40):
            deep = [deep]
        r = await client.post("/orders", json={"qty": 1, "deep": deep})
        assert r.status_code == 400 and "nests" in r.json()["detail"]
        r = await client.post("/orders", json={"qty": 1, "callback_url": "http://evil.example/"})
        assert r.status_code == 400 and r.json()["errors"][0]["field"] == "callback_url"
        r = await client.get("/requests/req_nope")
        assert r.status_code == 404 and r.json()["type"].endswith("/request-not-found")
        assert (await fa.orders.stats()).visible == 0


async def test_sync_route_and_integration_timeout(store_url: str) -> None:
    fa.app.store_url = store_url
    async with serving(fa.app) as client:
        r = await client.get("/hello/ann")
        assert r.status_code == 200 and r.json() == {"hello": "ann"}
        r = await client.get("/hello/bob", params={"sleep": "0.8"})
        assert r.status_code == 504
        late = r.json()
        assert late["type"].endswith("/integration-timeout")
        done = await _poll(client, late["request_id"], "succeeded")
        assert done["result"] == {"hello": "bob"}


async def test_server_sent_events_follow_the_state(store_url: str) -> None:
    fa.app.store_url = store_url
    async with serving(fa.app) as client:
        request_id = (await client.post("/orders", json={"qty": 5})).json()["request_id"]
        worker = Worker(fa.app, concurrency=2)
        task = asyncio.create_task(worker.run())
        ids: list[str] = []
        try:
            async with client.stream("GET", f"/requests/{request_id}/events") as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                async for line in stream.aiter_lines():
                    if line.startswith("id: "):
                        ids.append(line[4:])
        finally:
            worker.stop()
            await task
        assert ids[0] == "accepted" and ids[-1] == "succeeded"
        # Resuming after the final state sends nothing new.
        r = await client.get(
            f"/requests/{request_id}/events", headers={"last-event-id": "succeeded"}
        )
        assert "id:" not in r.text


async def test_machine_request_runs_then_closes_with_its_execution(store_url: str) -> None:
    fa.app.store_url = store_url
    async with serving(fa.app) as client:
        rid = (await client.post("/slowbook", json={})).json()["request_id"]
        assert (await client.get(f"/requests/{rid}")).json()["state"] == "accepted"
        worker = Worker(fa.app, concurrency=2)
        task = asyncio.create_task(worker.run())
        try:
            await _poll(client, rid, "running")  # written by the first step's unit
            done = await _poll(client, rid, "succeeded")
        finally:
            worker.stop()
            await task
        assert done["result"] == "held"


async def test_route_bulkhead_counts_handlers_past_their_timeout(store_url: str) -> None:
    fa.app.store_url = store_url
    async with serving(fa.app) as client:
        late = await client.get("/busy/ann", params={"sleep": "1.2"})
        assert late.status_code == 504  # the handler runs on, holding the only place
        busy = await client.get("/busy/bob")
        assert busy.status_code == 429 and busy.json()["limit"] == "concurrency"
        assert busy.headers["retry-after"] == "1"
        await asyncio.sleep(1.0)  # the late handler ends and frees its place
        assert (await client.get("/busy/cy")).json() == {"hello": "cy"}
