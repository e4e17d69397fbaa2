"""A lost COMMIT (the connection drops after COMMIT was sent, before its reply) does not
run a transaction twice: each unit records its outcome row (``txn/<unit-id>``) in its own
transaction, and the store's rerun of the unit finds it (issue 19)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from stormproof import App
from stormproof.storage.transaction_ops import OUTCOME_TTL, AlreadyCommitted, RunTransaction
from stormproof.testing import FakeClock
from tests.conftest import _with_schema, require_postgres
from tests.support.commit_proxy import commit_proxy
from tests.support.postgres import drop_schema


def _ticket_app(
    url: str, folder: Path, clock: FakeClock | None = None, consume: bool = False
) -> tuple[App, list[Any]]:
    folder.mkdir(exist_ok=True)
    (folder / "001_tickets.sql").write_text("CREATE TABLE tickets (n INTEGER NOT NULL);")
    app = App("t", url, clock=clock, consume=consume)
    app.sql_migrations(folder)
    calls: list[Any] = []

    @app.transaction()
    def issue_ticket(db: Any, event: Any) -> Any:
        calls.append(event)
        db.execute("INSERT INTO tickets (n) VALUES (:n)", {"n": event})
        return {"ticket": event}

    return app, calls


async def _tickets(app: App) -> list[int]:
    def count(db: Any) -> Any:
        return [r[0] for r in db.execute("SELECT n FROM tickets ORDER BY n")]

    [result] = await app.store.apply([RunTransaction(count)])
    return list(result.values[0])


async def test_a_rerun_unit_meets_its_outcome_row(store_url: str, tmp_path: Path) -> None:
    """The store reruns a unit only after a lost COMMIT; rerunning the same operation by
    hand shows what that rerun meets, on both stores."""
    clock = FakeClock()
    app, calls = _ticket_app(store_url, tmp_path / "m", clock)
    async with app:
        op = app.functions.transactions.by_name["issue_ticket"].bind(7).op()
        await app.store.apply([op])
        with pytest.raises(AlreadyCommitted) as rerun:
            await app.store.apply([op])
        assert rerun.value.value == {"ticket": 7}
        assert calls == [7] and await _tickets(app) == [7]
        assert await app.functions.transactions.run_maintenance() == 0  # kept an hour
        clock.advance(OUTCOME_TTL + 1)
        assert await app.functions.transactions.run_maintenance() >= 1  # then pruned


async def test_lost_commit_reply_does_not_run_twice(
    pg_base_url: str | None, tmp_path: Path
) -> None:
    base = require_postgres(pg_base_url)
    schema = "t_lost_commit_" + tmp_path.name[-8:].replace("-", "_")
    try:
        with commit_proxy(_with_schema(base, schema)) as (proxy, url):
            app, calls = _ticket_app(url, tmp_path / "m")
            async with app:
                fn = app.functions.transactions.by_name["issue_ticket"]
                assert await fn.invoke(1) == {"ticket": 1}
                proxy.arm(b"INSERT INTO tickets")
                # The first run commits, its reply is lost, the store reruns the unit on a
                # new connection: the outcome row answers, the function does not run again.
                assert await fn.invoke(2) == {"ticket": 2}
                assert proxy.drops == 1
                assert calls == [1, 2]
                assert await _tickets(app) == [1, 2]
    finally:
        drop_schema(base, schema)


async def test_lost_commit_of_a_task_step_does_not_run_it_twice(
    pg_base_url: str | None, tmp_path: Path
) -> None:
    """A task unit has no outcome row: its message's deletion comes first, so the rerun
    finds the lease stale and stops before the function; the step completes once."""
    base = require_postgres(pg_base_url)
    schema = "t_lost_task_" + tmp_path.name[-8:].replace("-", "_")
    task = {"Type": "Task", "Resource": "issue_ticket", "End": True}
    machine = {"StartAt": "Issue", "States": {"Issue": task}}
    try:
        with commit_proxy(_with_schema(base, schema)) as (proxy, url):
            app, calls = _ticket_app(url, tmp_path / "m", consume=True)
            app.state_machine("Issue", machine)
            async with app:
                proxy.arm(b"INSERT INTO tickets")
                arn = await app.start_execution("Issue", 5)
                for _ in range(400):
                    info = await app.describe_execution(arn)
                    if info.status != "RUNNING":
                        break
                    await asyncio.sleep(0.025)
                assert info.status == "SUCCEEDED" and info.output == {"ticket": 5}
                assert proxy.drops == 1
                assert calls == [5]
                assert await _tickets(app) == [5]
    finally:
        drop_schema(base, schema)
