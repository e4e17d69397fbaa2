"""A batched delete carries other operations (request records) in its own transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from stormproof import App
from stormproof.engine.leases import LeaseKeeper
from stormproof.storage.base import Lease, OpResult
from stormproof.storage.program import Dialect, Program, Stmt
from stormproof.storage.request_ops import RequestRecord, UpdateRequest, key_of, new_request_id
from stormproof.testing import FakeClock


@dataclass(frozen=True)
class Explode:
    """An operation that fails after the deletes ran in its transaction."""

    def program(self, dialect: Dialect) -> Program[OpResult]:
        yield Stmt("now")
        raise RuntimeError("boom")

    def is_stale(self, result: OpResult) -> bool:
        return False


async def test_the_record_update_commits_with_the_delete_or_neither(store_url: str) -> None:
    clock = FakeClock()
    app = App("d", store_url, clock=clock)
    q = app.queue("work", visibility_timeout=30)
    async with app:
        await q.send_batch([{"id": "a", "body": "a"}, {"id": "b", "body": "b"}])
        rows = await app.store.claim("work", q.attributes, 10, 30)
        rid = new_request_id()
        record = RequestRecord(rid, "/x", "accepted", 0.0, 0.0, {"kind": "queue"})
        await app.store.apply([record.insert_op()])
        keeper = LeaseKeeper(lambda: app.store, clock)
        with pytest.raises(RuntimeError):
            await keeper.delete("work", [Lease(rows[0].rowid, rows[0].token)], [Explode()])
        assert (await q.stats()).in_flight == 2  # the failed unit deleted nothing
        done = UpdateRequest(rid, "succeeded", 1.0, result={"ok": 1})
        await keeper.delete("work", [Lease(r.rowid, r.token) for r in rows], [done])
        assert (await q.stats()).in_flight == 0
        stored = await app.store.get_state(key_of(rid))
        assert stored is not None and json.loads(stored.value)["state"] == "succeeded"
        await keeper.close()
