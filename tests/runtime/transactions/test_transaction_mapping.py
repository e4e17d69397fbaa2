"""A mapping whose handler is a transaction function: deletion commits with the writes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from stormproof import App, Worker
from stormproof.testing import FakeClock


@contextlib.asynccontextmanager
async def running(app: App) -> AsyncIterator[Worker]:
    async with app:
        worker = Worker(app)
        await worker.start()
        try:
            yield worker
        finally:
            await worker.shutdown()


def inbox_app(store_url: str, tmp_path: Path, clock: FakeClock, report: bool = False) -> App:
    folder = tmp_path / "migrations"
    folder.mkdir(exist_ok=True)
    (folder / "1_inbox.sql").write_text("CREATE TABLE inbox (body TEXT NOT NULL)")
    app = App("inbox", store_url, clock=clock)
    app.sql_migrations(folder)
    q = app.queue("work", visibility_timeout=20)

    @app.transaction()
    def store_rows(db: Any, event: Any) -> Any:
        failed = []
        for record in event["Records"]:
            db.execute("INSERT INTO inbox VALUES (:b)", {"b": record["body"]})
            if record["body"].startswith("poison"):
                if not report:
                    raise ValueError(record["body"])
                failed.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failed}

    @app.transaction()
    def rows(db: Any, event: Any) -> Any:
        return sorted(r[0] for r in db.execute("SELECT body FROM inbox"))

    app.consume(q, store_rows, report_batch_item_failures=report)
    return app


async def test_rows_and_deletions_commit_together(store_url: str, tmp_path: Path) -> None:
    clock = FakeClock()
    app = inbox_app(store_url, tmp_path, clock)
    rows = app.functions.transactions.by_name["rows"]
    async with running(app) as worker:
        q = await app.get_queue("work")
        for body in ("a", "b", "c"):
            await q.send(body)
        assert await worker.run_once() == 3
        assert await rows.invoke() == ["a", "b", "c"]
        assert (await q.stats()).visible + (await q.stats()).in_flight == 0
        await q.send("poison-1")
        await q.send("d")
        assert await worker.run_once() == 2
        assert await rows.invoke() == ["a", "b", "c"]  # the failed batch left no row
        assert (await q.stats()).in_flight == 2


async def test_batch_item_failures_keep_only_those(store_url: str, tmp_path: Path) -> None:
    clock = FakeClock()
    app = inbox_app(store_url, tmp_path, clock, report=True)
    async with running(app) as worker:
        q = await app.get_queue("work")
        await q.send("poison-2")
        await q.send("e")
        assert await worker.run_once() == 2
        assert (await q.stats()).in_flight == 1  # the reported one stays; "e" is deleted
        rows = await app.functions.transactions.by_name["rows"].invoke()
        assert rows == ["e", "poison-2"]  # the handler chose to keep its row
