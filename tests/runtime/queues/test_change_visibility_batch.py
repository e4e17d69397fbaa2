"""``Queue.change_visibility_batch``: per-entry results, each lease moved independently
(both stores, a fake clock, no sleeping)."""

from __future__ import annotations

import pytest

from stormproof import App
from stormproof.errors import BatchRequestInvalid
from stormproof.testing import FakeClock


async def test_each_entry_changes_its_own_lease_or_fails_alone(store_url: str) -> None:
    clock = FakeClock()
    app = App("cvb", store_url, clock=clock)
    app.queue("q", visibility_timeout=30)
    async with app:
        q = await app.get_queue("q")
        await q.send_batch([{"id": n, "body": n} for n in ("a", "b", "c")])
        got = {m.body: m for m in await q.receive(max_messages=10)}
        assert sorted(got) == ["a", "b", "c"]
        res = await q.change_visibility_batch(
            [
                {"id": "1", "receipt_handle": got["a"].receipt_handle, "visibility_timeout": 0},
                {"id": "2", "receipt_handle": got["b"].receipt_handle, "visibility_timeout": 60},
                {"id": "3", "receipt_handle": "junk", "visibility_timeout": 5},
                {"id": "4", "receipt_handle": got["c"].receipt_handle, "visibility_timeout": -1},
            ]
        )
        assert res.successful == [
            ("1", got["a"].receipt_handle),
            ("2", got["b"].receipt_handle),
        ]
        assert {f[0]: f[1] for f in res.failed} == {
            "3": "ReceiptHandleIsInvalid",
            "4": "InvalidAttribute",
        }
        again = await q.receive(max_messages=10)
        assert [m.body for m in again] == ["a"]  # released at once
        await q.delete(again[0].receipt_handle)
        clock.advance(31)  # c kept its 30 s lease; b's was set to 60 s
        later = await q.receive(max_messages=10)
        assert [m.body for m in later] == ["c"]
        await q.delete(later[0].receipt_handle)
        clock.advance(30)
        assert [m.body for m in await q.receive(max_messages=10)] == ["b"]


async def test_a_malformed_batch_is_refused_whole(store_url: str) -> None:
    app = App("cvb", store_url, clock=FakeClock())
    app.queue("q")
    async with app:
        q = await app.get_queue("q")
        with pytest.raises(BatchRequestInvalid) as info:
            await q.change_visibility_batch([])
        assert info.value.code == "EmptyBatchRequest"
