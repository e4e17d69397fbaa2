"""Group commit of plain sends (``storage.pg_group``) over a recording apply function,
plus concurrent sends through the real PostgreSQL store."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from stormproof import App
from stormproof.errors import StoreError, StoreUnavailable
from stormproof.machines.step_messages import message
from stormproof.storage.base import Enqueue, EntryStatus, Operation, OpResult
from stormproof.storage.pg_group import MAX_FLUSHERS, MAX_UNITS, Apply, GroupCommit
from stormproof.storage.postgres import PostgresStore


class Recorder:
    """Applies each op as one OK result valued by its queue name; fails where told."""

    def __init__(self, fail_on: str | None = None, error: StoreError | None = None) -> None:
        self.groups: list[int] = []
        self.fail_on, self.error = fail_on, error

    async def __call__(self, ops: Sequence[Operation]) -> list[OpResult]:
        self.groups.append(len(ops))
        await asyncio.sleep(0)
        names = [getattr(op, "queue", "") for op in ops]
        if self.fail_on in names and self.error is not None:
            raise self.error
        return [OpResult([EntryStatus.OK], [name]) for name in names]


class Op:
    def __init__(self, queue: str) -> None:
        self.queue = queue


async def _send_all(group: GroupCommit, names: list[str]) -> list[object]:
    calls = [group.send([Op(n)]) for n in names]  # type: ignore[list-item]
    return await asyncio.gather(*calls, return_exceptions=True)


async def test_concurrent_sends_share_transactions_and_get_their_own_results() -> None:
    apply = Recorder()
    names = [f"q{i}" for i in range(200)]
    results = await _send_all(GroupCommit(apply), names)
    assert [r[0].values for r in results] == [[n] for n in names]  # type: ignore[index]
    assert sum(apply.groups) == 200
    assert len(apply.groups) < 20 and max(apply.groups) <= MAX_UNITS


async def test_a_failing_send_fails_alone() -> None:
    apply = Recorder(fail_on="bad", error=StoreError("boom"))
    results = await _send_all(GroupCommit(apply), ["a", "bad", "c"])
    assert isinstance(results[1], StoreError)
    assert [r[0].values for r in (results[0], results[2])] == [["a"], ["c"]]  # type: ignore[index]


async def test_an_unreachable_store_fails_the_group_without_retrying_each() -> None:
    apply = Recorder(fail_on="a", error=StoreUnavailable("down"))
    results = await _send_all(GroupCommit(apply), ["a", "b", "c"])
    assert all(isinstance(r, StoreUnavailable) for r in results)
    assert apply.groups == [3]


async def test_concurrent_sends_on_the_store(store_url: str) -> None:
    app = App("test", store_url)
    app.queue("q")
    async with app:
        q = await app.get_queue("q")
        ids = await asyncio.gather(*(q.send(f"m{i}") for i in range(300)))
        assert len(set(ids)) == 300
        assert (await q.stats()).visible == 300


@pytest.mark.parametrize("count", [1, 2])
async def test_a_lone_send_is_not_delayed_by_the_group(store_url: str, count: int) -> None:
    app = App("test", store_url)
    app.queue("q")
    async with app:
        q = await app.get_queue("q")
        for i in range(count):
            await asyncio.wait_for(q.send(f"m{i}"), timeout=5)
        got = await q.receive(max_messages=10, wait=1)
        assert sorted(m.body for m in got) == [f"m{i}" for i in range(count)]


class Gated:
    """The real store's send, held once committed until ``gate`` opens, so that every
    flusher finishes in one turn of the loop, with the test woken right after them."""

    def __init__(self, apply: Apply) -> None:
        self.apply, self.gate, self.held = apply, asyncio.Event(), asyncio.Event()
        self.started: asyncio.Queue[None] = asyncio.Queue()
        self.waiting = 0

    async def __call__(self, ops: Sequence[Operation]) -> list[OpResult]:
        self.started.put_nowait(None)  # this flusher has taken its units
        results = await self.apply(ops)
        self.waiting += 1
        if self.waiting == MAX_FLUSHERS:
            self.held.set()
        await self.gate.wait()
        return results


def _send(n: int) -> list[Operation]:
    return [Enqueue("_sfn-g", [message({"n": n})])]


async def test_a_send_queued_as_the_flushers_finish_is_not_stranded(pg_store_url: str) -> None:
    async with App("g", pg_store_url) as app:
        store = app.store
        assert isinstance(store, PostgresStore)
        gated = Gated(store._send)
        group = GroupCommit(gated)
        first = []
        for n in range(MAX_FLUSHERS):  # one flusher per send, each holding its own
            first.append(asyncio.ensure_future(group.send(_send(n))))
            await gated.started.get()
        await gated.held.wait()
        asyncio.get_running_loop().call_soon(gated.gate.set)
        await gated.gate.wait()  # woken after every flusher saw the queue empty and ended
        async with asyncio.timeout(10):  # before the fix the send was stranded: a hang
            await group.send(_send(MAX_FLUSHERS))  # awaited inline: queued in this turn
            await asyncio.gather(*first)
        assert (await store.counts("_sfn-g")).visible == MAX_FLUSHERS + 1
