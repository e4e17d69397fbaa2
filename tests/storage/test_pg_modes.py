"""How PostgreSQL units are sent (``storage.pg_pipeline``), and that the one-round-trip
modes keep the semantics of a transaction, on both stores."""

from __future__ import annotations

import pytest

from stormproof import App
from stormproof.core.queue_rules import QueueAttributes
from stormproof.errors import StaleLease
from stormproof.queues.messages import decode_handle
from stormproof.storage.base import Delete, EntryStatus, Lease
from stormproof.storage.pg_pipeline import claim_mode, unit_mode
from stormproof.storage.postgres import PostgresStore


def test_a_lone_non_atomic_delete_runs_in_autocommit_mode() -> None:
    delete = Delete("q", [Lease(1, "t")])
    assert unit_mode([delete], atomic=False) == "autocommit"
    assert unit_mode([delete], atomic=True) == "batched"  # judged, then COMMIT or ROLLBACK
    assert unit_mode([delete, Delete("r", [Lease(2, "t")])], atomic=False) == "transaction"
    assert unit_mode([], atomic=False) == "transaction"


def test_only_a_one_statement_claim_runs_in_autocommit_mode() -> None:
    assert claim_mode(QueueAttributes()) == "autocommit"
    assert claim_mode(QueueAttributes(dead_letter="dlq")) == "transaction"  # may move
    assert claim_mode(QueueAttributes(fifo=True)) == "transaction"  # group locks first


async def _stale_and_fresh(app: App) -> tuple[Lease, Lease]:
    """Two leases on queue ``q``: the first one stale (its message received again)."""
    q = await app.get_queue("q")
    await q.send("a")
    await q.send("b")
    first = await q.receive(max_messages=10, visibility_timeout=30)
    assert len(first) == 2
    stale, fresh = first
    await q.change_visibility(stale.receipt_handle, 0)
    again = await q.receive(max_messages=1, visibility_timeout=30)
    assert [m.message_id for m in again] == [stale.message_id]
    return decode_handle("q", stale.receipt_handle), decode_handle("q", fresh.receipt_handle)


async def test_a_delete_reports_stale_gone_and_deleted_leases(store_url: str) -> None:
    app = App("test", store_url)
    app.queue("q")
    async with app:
        stale, fresh = await _stale_and_fresh(app)
        gone = Lease(10**9, "nope")
        [result] = await app.store.apply([Delete("q", [stale, fresh, gone])])
        assert result.statuses == [EntryStatus.STALE, EntryStatus.OK, EntryStatus.GONE]
        assert (await (await app.get_queue("q")).stats()).total == 1


async def test_an_atomic_delete_with_a_stale_lease_deletes_nothing(store_url: str) -> None:
    app = App("test", store_url)
    app.queue("q")
    async with app:
        stale, fresh = await _stale_and_fresh(app)
        with pytest.raises(StaleLease):
            await app.store.apply([Delete("q", [fresh, stale])], atomic=True)
        assert (await (await app.get_queue("q")).stats()).total == 2


async def test_connections_go_back_to_the_pool_out_of_autocommit(pg_store_url: str) -> None:
    app = App("test", pg_store_url)
    app.queue("q")
    async with app:
        q = await app.get_queue("q")
        for i in range(5):
            await q.send(f"m{i}")
            for m in await q.receive(max_messages=10):
                await q.delete(m.receipt_handle)
        store = app.store
        assert isinstance(store, PostgresStore) and store._pool is not None
        async with store._pool.connection() as conn:
            assert not conn.autocommit
