"""A front-door route to a queue a transactional mapping consumes: the request succeeds
in the transaction that applies the writes and deletes the message (real HTTP, loopback)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from stormproof import App, Worker
from tests.http.server import serving


def _app(store_url: str, tmp_path: Path) -> App:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "1_orders.sql").write_text("CREATE TABLE placed (qty INTEGER NOT NULL)")
    app = App("txn-frontdoor", store_url)
    app.sql_migrations(folder)
    orders = app.queue("orders", visibility_timeout=30)

    @app.transaction()
    def place(db: Any, event: Any) -> Any:
        for record in event["Records"]:
            db.execute("INSERT INTO placed VALUES (:q)", {"q": len(record["body"])})
        return None

    @app.transaction()
    def placed(db: Any, event: Any) -> Any:
        return db.execute("SELECT COUNT(*) FROM placed").fetchone()[0]

    app.consume(orders, place)
    app.api.post("/orders", to=orders)
    return app


async def _poll(client: httpx.AsyncClient, request_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for _ in range(500):
        body = (await client.get(f"/requests/{request_id}")).json()
        if body["state"] in ("succeeded", "failed"):
            return body
        await asyncio.sleep(0.02)
    raise AssertionError(f"request {request_id} stuck in {body}")


async def test_transactional_mapping_marks_the_request_succeeded(
    store_url: str, tmp_path: Path
) -> None:
    app = _app(store_url, tmp_path)
    async with serving(app) as client:
        ids = [
            (await client.post("/orders", json={"qty": q})).json()["request_id"] for q in (1, 2, 3)
        ]
        worker = Worker(app, concurrency=2)
        task = asyncio.create_task(worker.run())
        try:
            done = [await _poll(client, rid) for rid in ids]
        finally:
            worker.stop()
            await task
        assert [d["state"] for d in done] == ["succeeded"] * 3
        assert await app.functions.transactions.by_name["placed"].invoke() == 3
