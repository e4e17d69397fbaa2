"""The Store contract, run on SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from stormproof.core.queue_rules import QueueAttributes, prepare_message
from stormproof.errors import StaleLease
from stormproof.storage.base import (
    AcquireSlots,
    ChangeVisibility,
    CompareAndSet,
    Delete,
    DeleteState,
    Enqueue,
    EntryStatus,
    ExtendSlots,
    Lease,
    ReleaseSlots,
    Store,
)
from stormproof.storage.opening import open_store
from stormproof.testing import FakeClock

ATTRS = QueueAttributes(visibility_timeout=30)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def store(store_url: str, clock: FakeClock) -> AsyncIterator[Store]:
    s = open_store(store_url, clock)
    await s.open()
    await s.put_queue("q", ATTRS)
    await s.put_queue("other", ATTRS)
    yield s
    await s.close()


def _msgs(n: int, prefix: str = "m") -> list:  # type: ignore[type-arg]
    return [prepare_message(ATTRS, f"{prefix}{i}") for i in range(n)]


async def test_open_is_idempotent_and_migrations_reapply_cleanly(store_url: str) -> None:
    for _ in range(2):
        s = open_store(store_url)
        await s.open()
        await s.open()
        await s.close()


async def test_claims_are_exclusive_and_batched(store: Store) -> None:
    await store.apply([Enqueue("q", _msgs(25))])
    claims = await asyncio.gather(*[store.claim("q", ATTRS, 10, 30) for _ in range(5)])
    ids = [r.message_id for batch in claims for r in batch]
    assert len(ids) == 25 == len(set(ids))
    assert max(len(batch) for batch in claims) == 10


async def test_a_unit_of_work_is_one_transaction(store: Store) -> None:
    await store.apply([Enqueue("q", _msgs(2))])
    rows = await store.claim("q", ATTRS, 2, 30)
    good = Lease(rows[0].rowid, rows[0].token)
    stale = Lease(rows[1].rowid, "not-the-token")
    with pytest.raises(StaleLease) as err:
        await store.apply(
            [Enqueue("other", _msgs(3)), Delete("q", [good]), Delete("q", [stale])], atomic=True
        )
    assert err.value.index == 2
    # Nothing of the unit was applied: no enqueue into "other", no delete from "q".
    assert (await store.counts("other")).visible == 0
    assert (await store.counts("q")).in_flight == 2
    done = await store.apply([Enqueue("other", _msgs(1)), Delete("q", [good])], atomic=True)
    assert done[1].statuses == [EntryStatus.OK]
    assert (await store.counts("other")).visible == 1


async def test_lease_statuses(store: Store, clock: FakeClock) -> None:
    await store.apply([Enqueue("q", _msgs(1))])
    [first] = await store.claim("q", ATTRS, 1, 5)
    old = Lease(first.rowid, first.token)
    clock.advance(6)
    [second] = await store.claim("q", ATTRS, 1, 5)
    new = Lease(second.rowid, second.token)
    [cv] = await store.apply([ChangeVisibility("q", [old, new], [10, 10])])
    assert cv.statuses == [EntryStatus.STALE, EntryStatus.OK]
    [gone] = await store.apply([Delete("q", [new, new])])
    assert gone.statuses == [EntryStatus.OK, EntryStatus.OK]
    again, moved = await store.apply([Delete("q", [new]), ChangeVisibility("q", [new], [1])])
    assert again.statuses == moved.statuses == [EntryStatus.GONE]


async def test_compare_and_set_records(store: Store) -> None:
    [made] = await store.apply([CompareAndSet("k", None, "v1")])
    assert made.values == [1]
    [dup] = await store.apply([CompareAndSet("k", None, "again")])
    assert dup.statuses == [EntryStatus.STALE]
    [upd] = await store.apply([CompareAndSet("k", 1, "v2")])
    assert upd.values == [2]
    [lost] = await store.apply([CompareAndSet("k", 1, "v3")])
    assert lost.statuses == [EntryStatus.STALE]
    record = await store.get_state("k")
    assert record is not None and (record.version, record.value) == (2, "v2")
    await store.apply([CompareAndSet("k2", None, "x")])
    assert [r.key for r in await store.list_states("k")] == ["k", "k2"]
    [deleted] = await store.apply([DeleteState("k", 2)])
    assert deleted.ok and await store.get_state("k") is None


async def test_cas_race_has_one_winner(store: Store) -> None:
    await store.apply([CompareAndSet("race", None, "0")])
    results = await asyncio.gather(
        *[store.apply([CompareAndSet("race", 1, str(i))]) for i in range(10)]
    )
    assert sum(r[0].ok for r in results) == 1


async def test_leased_slots_are_a_global_semaphore(store: Store, clock: FakeClock) -> None:
    [a] = await store.apply([AcquireSlots("fn", 3, "a", 2, 10)])
    [b] = await store.apply([AcquireSlots("fn", 3, "b", 2, 10)])
    assert len(a.values) == 2 and len(b.values) == 1
    assert set(a.values).isdisjoint(b.values)
    [none] = await store.apply([AcquireSlots("fn", 3, "c", 1, 10)])
    assert none.values == []
    await store.apply([ReleaseSlots("fn", "b", b.values)])  # type: ignore[arg-type]
    [c] = await store.apply([AcquireSlots("fn", 3, "c", 1, 10)])
    assert c.values == b.values
    clock.advance(5)
    [ext] = await store.apply([ExtendSlots("fn", "a", a.values, 10)])  # type: ignore[arg-type]
    assert ext.ok
    clock.advance(7)  # c's slot expired with its holder (t=10); a's was extended to t=15
    [d] = await store.apply([AcquireSlots("fn", 3, "d", 3, 10)])
    assert d.values == c.values
    [late] = await store.apply([ExtendSlots("fn", "c", c.values, 10)])  # type: ignore[arg-type]
    assert late.statuses == [EntryStatus.STALE]


async def test_slot_limit_can_shrink(store: Store) -> None:
    await store.apply([AcquireSlots("fn", 5, "a", 5, 10)])
    await store.apply([ReleaseSlots("fn", "a", [0, 1, 2, 3, 4])])
    [got] = await store.apply([AcquireSlots("fn", 2, "b", 5, 10)])
    assert got.values == [0, 1]


async def test_queue_rows(store: Store) -> None:
    stored = await store.put_queue("x.fifo", QueueAttributes(fifo=True, delay=3))
    assert stored.attributes.fifo and stored.attributes.delay == 3
    found = await store.get_queue("x.fifo")
    assert found is not None and found.attributes == stored.attributes
    assert await store.get_queue("nope") is None
    assert "x.fifo" in [q.name for q in await store.list_queues()]
    assert await store.delete_queue("x.fifo")
    assert not await store.delete_queue("x.fifo")


async def test_store_clock_and_next_visible(store: Store, clock: FakeClock) -> None:
    assert await store.now() == pytest.approx(clock.now())
    assert await store.next_visible_in("q") is None
    await store.apply([Enqueue("q", [prepare_message(ATTRS, "later", delay=7)])])
    assert await store.next_visible_in("q") == pytest.approx(7)


async def test_a_failing_program_fails_only_its_caller(store: Store) -> None:
    from stormproof.storage.program import Program, Stmt

    def broken() -> Program[int]:
        yield Stmt("now")
        raise RuntimeError("bug in a program")

    with pytest.raises(RuntimeError, match="bug in a program"):
        await store.run(broken)
    # The store still works afterwards (the SQLite writer thread survived).
    assert await store.now() > 0


async def test_one_message_wakes_one_waiter(store: Store) -> None:
    waiters = [asyncio.create_task(store.wait(["q"], 5)) for _ in range(3)]
    await asyncio.sleep(0.1)
    await store.apply([Enqueue("q", _msgs(1))])
    await asyncio.sleep(0.3)
    assert sum(w.done() for w in waiters) == 1
    await store.apply([Enqueue("q", _msgs(2))])
    await asyncio.wait_for(asyncio.gather(*waiters), timeout=3)
