"""The WebSocket push: one socket follows several requests to their final state."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.client import connect

from stormproof.worker import Worker
from tests.http import frontdoor_app as fa
from tests.http.server import serving


async def test_websocket_follows_several_requests(store_url: str) -> None:
    fa.app.store_url = store_url
    async with serving(fa.app) as client:
        ids = [(await client.post("/orders", json={"qty": q})).json()["request_id"] for q in (1, 2)]
        url = f"ws://{client.base_url.host}:{client.base_url.port}/requests/ws"
        async with connect(url) as socket:
            await socket.send("not json")
            assert json.loads(await socket.recv())["error"] == "bad-message"
            await socket.send(json.dumps({"subscribe": [*ids, "req_" + "0" * 32]}))
            got: list[dict[str, Any]] = []
            while len(got) < 3:
                got.append(json.loads(await asyncio.wait_for(socket.recv(), 10)))
            assert {(m["request_id"], m.get("state") or m["error"]) for m in got} == {
                (ids[0], "accepted"),
                (ids[1], "accepted"),
                ("req_" + "0" * 32, "not-found"),
            }
            worker = Worker(fa.app, concurrency=2)
            task = asyncio.create_task(worker.run())
            try:
                final: dict[str, Any] = {}
                while len(final) < 2:
                    message = json.loads(await asyncio.wait_for(socket.recv(), 15))
                    final[message["request_id"]] = message
            finally:
                worker.stop()
                await task
        assert {r: m["state"] for r, m in final.items()} == dict.fromkeys(ids, "succeeded")
        assert final[ids[1]]["result"] == {"total": 20}
