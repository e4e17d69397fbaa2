"""The batched programs of a mapping's poll, on both stores: leases renewed and taken up
to a share in order, reads of several units at once, checkpoints moved only under the
lease (one statement over arrays on PostgreSQL, one per unit on SQLite)."""

from __future__ import annotations

from stormproof import App
from stormproof.storage import stream_ops as ops
from stormproof.storage import stream_poll_ops as poll

UNITS = ["u0", "u1", "u2", "u3"]


async def test_leases_are_renewed_and_taken_up_to_the_share_in_order(store_url: str) -> None:
    app = App("t", store_url)
    async with app:
        store, d = app.store, poll.dialect_of(store_url)

        async def take(holder: str, lease: poll.Leasing) -> dict[str, int | None]:
            return await store.run(lambda: poll.take_leases(d, "m", holder, 30, lease))

        new = [(u, 0) for u in UNITS]
        assert await take("w1", poll.Leasing([], UNITS, 2, new)) == {"u0": 0, "u1": 0}
        # Another worker skips the held units and takes the free ones, in order.
        assert await take("w2", poll.Leasing([], UNITS, 4, new)) == {"u2": 0, "u3": 0}
        # Renewal keeps w1's units; it takes none of w2's, whatever it asks for.
        assert await take("w1", poll.Leasing(["u0", "u1"], ["u2", "u3"], 2, [])) == {
            "u0": 0,
            "u1": 0,
        }
        moves = [poll.Advance("u0", 5, 0.25), poll.Advance("u2", 7, 0.5)]
        moved = await store.run(lambda: poll.advance(d, "m", "w1", moves))
        assert moved == {"u0"}  # u2 is w2's: its checkpoint does not move
        rows = {r.shard_id: r for r in await store.run(lambda: ops.checkpoints("m"))}
        assert (rows["u0"].seq, rows["u0"].iterator_age) == (5, 0.25)
        assert rows["u2"].seq == 0


async def test_several_units_are_read_at_once(store_url: str) -> None:
    app = App("t", store_url)
    stream = app.stream("s", shards=2)
    async with app:
        await stream.put_records([{"data": str(i), "partition_key": f"k{i}"} for i in range(40)])
        shards = [s.shard_id for s in await stream.describe()]
        d = poll.dialect_of(store_url)
        wanted = [("a", shards[0], 0), ("b", shards[1], 3), ("c", shards[1], 10_000)]
        got = await app.store.run(lambda: poll.read_units(d, "s", wanted, 5))
        assert [r.seq for r in got["a"]] == [1, 2, 3, 4, 5]
        assert [r.seq for r in got["b"]] == [4, 5, 6, 7, 8]
        assert got["c"] == []
        one = await app.store.run(lambda: ops.read("s", shards[1], 3, 5))
        assert got["b"] == one
