"""Batched PostgreSQL units (``storage.pg_pipeline``: every statement sent before any row
is read) keep the semantics of a unit run statement by statement, on both stores."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from stormproof import App
from stormproof.errors import StaleLease
from stormproof.queues.messages import decode_handle
from stormproof.storage import machine_ops
from stormproof.storage.base import ChangeVisibility, Delete, Enqueue, Lease, OutgoingMessage
from stormproof.storage.machine_ops import InsertExecution, SaveExecution
from stormproof.storage.pg_pipeline import unit_mode

ARN = "arn:test:execution:m:e1"


def _insert() -> InsertExecution:
    return InsertExecution(ARN, "m", "e1", "{}", "{}", 0.0, "{}", "{}")


def _save(expected: int, event_id: int = 2) -> SaveExecution:
    event = {"id": event_id, "type": "PassStateEntered"}
    return SaveExecution(ARN, expected, "RUNNING", '{"s":1}', "{}", events=[event])


def _send(body: str) -> Enqueue:
    return Enqueue("out", [OutgoingMessage(body, None, 0.0, None, None, len(body))])


def test_units_of_judged_statements_and_plain_sends_are_batched() -> None:
    keep = ChangeVisibility("q", [Lease(1, "t")], [30.0])
    assert unit_mode([_save(1), keep, _send("x")], atomic=True) == "batched"
    assert unit_mode([_save(1), Delete("q", [Lease(1, "t")])], atomic=True) == "batched"
    assert unit_mode([_save(1), keep], atomic=False) == "transaction"  # none rolls back
    assert unit_mode([_insert(), _send("x")], atomic=True) == "batched"  # a start
    release = ChangeVisibility("q", [Lease(1, "t")], [0.0])  # it notifies: not one statement
    assert unit_mode([_save(1), release], atomic=True) == "transaction"
    twice = Delete("q", [Lease(1, "t"), Lease(1, "t")])
    assert unit_mode([_save(1), twice], atomic=True) == "transaction"


async def _leased(app: App) -> Lease:
    q = await app.get_queue("q")
    await q.send("a")
    [got] = await q.receive(max_messages=1, visibility_timeout=30)
    return decode_handle("q", got.receipt_handle)


async def _version_and_events(app: App) -> tuple[int, int]:
    rows = await app.store.run(lambda: machine_ops.load_executions([ARN]))
    _, events = await app.store.run(lambda: machine_ops.history_page(ARN, 0, 100))
    return rows[ARN].version, len(events)


@asynccontextmanager
async def _execution_and_lease(store_url: str) -> AsyncIterator[tuple[App, Lease]]:
    """An open app with one execution (version 1) and one leased message of ``q``."""
    app = App("test", store_url)
    app.queue("q")
    app.queue("out")
    async with app:
        await app.store.apply([_insert()], atomic=True)
        yield app, await _leased(app)


async def test_a_batched_unit_commits_every_operation(store_url: str) -> None:
    async with _execution_and_lease(store_url) as (app, lease):
        keep = ChangeVisibility("q", [lease], [60.0])
        results = await app.store.apply([_save(1), keep, _send("x")], atomic=True)
        assert [r.ok for r in results] == [True, True, True]
        assert results[0].values == [2]
        assert await _version_and_events(app) == (2, 1)
        assert len(await (await app.get_queue("out")).receive(max_messages=10)) == 1
        await app.store.apply([_save(2, 3), Delete("q", [lease])], atomic=True)
        assert (await (await app.get_queue("q")).stats()).total == 0


async def test_a_stale_save_in_a_batched_unit_commits_nothing(store_url: str) -> None:
    async with _execution_and_lease(store_url) as (app, lease):
        keep = ChangeVisibility("q", [lease], [60.0])
        with pytest.raises(StaleLease) as caught:
            await app.store.apply([_send("x"), _save(7), keep], atomic=True)
        assert caught.value.index == 1
        assert await _version_and_events(app) == (1, 0)
        assert (await (await app.get_queue("out")).stats()).total == 0


async def test_a_lost_lease_rolls_back_the_save_before_it(store_url: str) -> None:
    app = App("test", store_url)
    app.queue("q")
    async with app:
        await app.store.apply([_insert()], atomic=True)
        lease = await _leased(app)
        await app.store.apply([ChangeVisibility("q", [lease], [0.0])])  # visible again
        for lost in (
            ChangeVisibility("q", [lease], [60.0]),  # not in flight any more
            ChangeVisibility("q", [Lease(lease.rowid, "other")], [60.0]),
            ChangeVisibility("q", [lease], [10.0**9]),  # beyond the visibility cap
            Delete("q", [Lease(lease.rowid, "other")]),
        ):
            with pytest.raises(StaleLease) as caught:
                await app.store.apply([_save(1), lost], atomic=True)
            assert caught.value.index == 1
            assert await _version_and_events(app) == (1, 0)
