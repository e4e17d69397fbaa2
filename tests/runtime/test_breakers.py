"""Circuit breakers at run time, on both stores: shared state, probes, the three guards,
a consumer that stops claiming while open, and manual overrides."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from stormproof import App, Worker
from stormproof.core import breaker as core
from stormproof.core.breaker import State
from stormproof.engine.breakers import CACHE_TTL, STALE_MAX, CircuitBreaker, Permit
from stormproof.errors import BreakerOpen, InvalidAttribute
from stormproof.storage.base import CompareAndSet
from stormproof.testing import FakeClock
from tests.support.tcp_forward import Forwarder

POLICY: dict[str, Any] = {"consecutive_failures": 3, "open_for": 10, "half_open_calls": 2}


@contextlib.asynccontextmanager
async def opened(*apps: App) -> AsyncIterator[None]:
    async with contextlib.AsyncExitStack() as stack:
        for app in apps:
            await stack.enter_async_context(app)
        yield


class Boom(Exception):
    pass


async def _fail(b: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        with pytest.raises(Boom):
            async with b:
                raise Boom


async def _write(app: App, state: core.Breaker, name: str = "api") -> None:
    rec = await app.store.get_state(f"breaker/{name}")
    op = CompareAndSet(
        f"breaker/{name}", rec.version if rec else None, json.dumps(core.to_dict(state))
    )
    assert (await app.store.apply([op]))[0].ok


def test_invalid_policy_is_rejected_at_declaration() -> None:
    app = App("b", "sqlite:///unused.db")
    with pytest.raises(InvalidAttribute) as err:
        app.breaker("x", failure_rate=2)
    assert (err.value.field, err.value.value) == ("failure_rate", 2)
    with pytest.raises(InvalidAttribute):
        app.breaker("x", scope="cluster")
    with pytest.raises(InvalidAttribute):
        app.breaker("a/b")


async def test_trip_is_seen_by_another_process_and_refuses_without_calling(
    store_url: str,
) -> None:
    clock = FakeClock()
    one, two = App("b", store_url, clock=clock), App("b", store_url, clock=clock)
    b1, b2 = one.breaker("api", **POLICY), two.breaker("api", **POLICY)
    async with opened(one, two):
        await _fail(b1, 2)  # outcomes that trip nothing are merged in the background...
        assert b1.state.state is State.CLOSED
        await _fail(b1, 1)  # ...the tripping one is written at once
        assert b1.state.state is State.OPEN
        with pytest.raises(BreakerOpen):
            await b1.admit()
        clock.advance(STALE_MAX * 1.01)  # two's cached copy is too old to trust
        calls = 0

        async def dependency() -> None:
            nonlocal calls
            calls += 1

        with pytest.raises(BreakerOpen) as err:
            await b2.call(dependency)
        assert calls == 0
        assert err.value.name == "api"
        assert err.value.retry_at == b1.state.open_until
        rec = await one.store.get_state("breaker/api")
        assert rec is not None and json.loads(rec.value)["state"] == "open"


async def test_half_open_admits_exactly_the_probes_across_processes(store_url: str) -> None:
    clock = FakeClock()
    apps = [App("b", store_url, clock=clock) for _ in range(3)]
    bs = [a.breaker("api", **POLICY) for a in apps]
    async with opened(*apps):
        tripped = core.trip(core.Breaker(), clock.now(), core.policy(**POLICY), 0, "t")
        await _write(apps[0], tripped)
        clock.advance(10)
        callers = [b for b in bs for _ in range(20)]
        got = await asyncio.gather(*(b.try_admit() for b in callers))
        probes = [(b, g) for b, g in zip(callers, got, strict=True) if isinstance(g, Permit)]
        assert len(probes) == 2
        assert all(p.probe_id for _, p in probes)
        for b, p in probes:  # both succeed: closed
            await b.done(p, failed=False)
        await bs[2].refresh()
        assert bs[2].state.state is State.CLOSED


async def test_probe_that_never_reports_reopens(store_url: str) -> None:
    clock = FakeClock()
    app = App("b", store_url, clock=clock)
    b = app.breaker("api", consecutive_failures=1, open_for=5, probe_timeout=3)
    async with app:
        await _fail(b, 1)
        assert b.state.state is State.OPEN
        clock.advance(5)
        probe = await b.admit()  # the prober "dies" holding it
        assert probe.probe_id
        assert not isinstance(await b.try_admit(), Permit)
        clock.advance(3)
        assert not isinstance(await b.try_admit(), Permit)  # expired: reopened
        assert b.state.state is State.OPEN
        assert b.state.reason == "probe timed out"
        assert b.state.trips == 2


async def test_closed_check_makes_no_round_trip(store_url: str) -> None:
    app = App("b", store_url, clock=FakeClock())
    b = app.breaker("api")
    async with app:
        await b.refresh()
        coro = b.try_admit()
        with pytest.raises(StopIteration) as done:  # finished without suspending: no I/O
            coro.send(None)
        assert isinstance(done.value.value, Permit)


async def test_an_outcome_is_recorded_without_waiting_for_the_store(store_url: str) -> None:
    clock = FakeClock()
    app = App("b", store_url, clock=clock)
    b = app.breaker("api")
    async with app:
        await b.refresh()
        permit = await b.admit()
        coro = b.done(permit, False)  # a flush is due (none yet), but in the background
        with pytest.raises(StopIteration):
            coro.send(None)
        for _ in range(200):  # the background task merges it into the shared record
            rec = await app.store.get_state("breaker/api")
            if rec is not None and core.from_dict(json.loads(rec.value)).calls:
                break
            await asyncio.sleep(0.01)
        assert rec is not None and core.from_dict(json.loads(rec.value)).calls == 1


async def test_a_trip_elsewhere_stops_calls_within_stale_max(store_url: str) -> None:
    clock = FakeClock()
    one, two = App("b", store_url, clock=clock), App("b", store_url, clock=clock)
    b1, b2 = one.breaker("api", **POLICY), two.breaker("api", **POLICY)
    async with opened(one, two):
        await b2.refresh()
        await _fail(b1, 3)
        clock.advance(CACHE_TTL * 1.5)  # stale: refreshed in the background, decided on the copy
        assert isinstance(await b2.try_admit(), Permit)
        for _ in range(200):
            if b2.state.state is State.OPEN:
                break
            await asyncio.sleep(0.01)
        assert not isinstance(await b2.try_admit(), Permit)
        three = App("b", store_url, clock=clock)
        b3 = three.breaker("api", **POLICY)
        async with three:
            await b3.refresh()
            await b3.force(State.CLOSED, by="test")
            await b2.refresh()
            assert isinstance(await b2.try_admit(), Permit)
            await b3.force(State.OPEN, by="test")
            clock.advance(STALE_MAX * 1.01)  # no check in between: the copy is too old to trust
            assert not isinstance(await b2.try_admit(), Permit)


async def test_a_global_breaker_degrades_to_process_scope_when_the_store_goes(
    pg_store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # An unreachable store: PostgreSQL behind a forwarder that is stopped.
    parts = urlsplit(pg_store_url)
    with Forwarder(("127.0.0.1", 0), (parts.hostname or "", parts.port or 5432)) as fwd:
        url = urlunsplit(parts._replace(netloc=f"postgres@127.0.0.1:{fwd.port}"))
        clock = FakeClock()
        app = App("b", f"{url}&deadline=0.5", clock=clock)
        b = app.breaker("api", **POLICY)
        async with app:
            await b.refresh()
            fwd.stop()
            clock.advance(STALE_MAX * 1.01)  # too old to trust: this check asks the store
            assert isinstance(await b.try_admit(), Permit)  # the store failed: decided locally
            assert "event=breaker.degraded" in caplog.text
            clock.advance(STALE_MAX * 2)  # degraded: checks no longer wait for the store
            coro = b.try_admit()
            with pytest.raises(StopIteration) as done:  # finished without suspending
                coro.send(None)
            assert isinstance(done.value.value, Permit)
            await _fail(b, 3)  # a trip applies to this process at once
            assert b.state.state is State.OPEN
            with pytest.raises(BreakerOpen):
                await b.admit()


async def test_decorator_call_and_result_predicate(store_url: str) -> None:
    app = App("b", store_url, clock=FakeClock())
    b = app.breaker(
        "api", consecutive_failures=2, scope="process", failed_result=lambda r: r >= 500
    )

    @b
    async def status(code: int) -> int:
        return code

    async with app:
        assert await status(200) == 200
        assert await b.call(lambda: 7) == 7
        assert await status(503) == 503
        assert await b.call(status, 500) == 500
        with pytest.raises(BreakerOpen):
            await status(200)
    with pytest.raises(InvalidAttribute):
        b(lambda: None)  # type: ignore[arg-type,return-value]


async def test_force_closed_and_open_record_who(store_url: str) -> None:
    clock = FakeClock()
    app = App("b", store_url, clock=clock)
    b = app.breaker("api")
    async with app:
        state = await b.force(State.OPEN, by="alice")
        assert state.state is State.OPEN and "forced open by alice" in state.reason
        with pytest.raises(BreakerOpen):
            await b.admit()
        await b.force(State.CLOSED, by="bob")
        assert isinstance(await b.admit(), Permit)


async def test_consumer_stops_claiming_while_open(store_url: str) -> None:
    clock = FakeClock()
    app = App("b", store_url, clock=clock)
    q = app.queue("orders", visibility_timeout=30, max_receive_count=3)
    app.queue("orders-dlq")
    b = app.breaker("api", consecutive_failures=2, open_for=60, scope="process")
    calls: list[int] = []
    healthy = False

    @app.function(timeout=5)
    async def handle(event: Any, context: Any) -> None:
        calls.append(len(event["Records"]))
        if not healthy:
            raise Boom

    app.consume(q, handle, batch_size=1, breaker=b)
    async with app:
        worker = Worker(app, concurrency=1)
        await worker.start()
        try:
            for i in range(5):
                await q.send(str(i))
            assert await worker.run_once() == 1
            await _drain(worker)
            assert await worker.run_once() == 1
            await _drain(worker)
            assert b.state.state is State.OPEN
            clock.advance(31)  # the failed ones are visible again
            for _ in range(3):  # open: nothing claimed, however often it polls
                assert await worker.run_once() == 0
                clock.advance(5)
            stats = await q.stats()
            assert stats.visible == 5 and stats.in_flight == 0
            assert len(calls) == 2
            rows = await app.store.claim("orders", app.attributes_of("orders"), 10, 0)
            assert max(r.receive_count for r in rows) == 2  # 1 receive each + this peek
            healthy = True
            clock.advance(60)
            assert await worker.run_once() == 1  # half-open: one probe batch
            await _drain(worker)
            assert b.state.state is State.CLOSED
            while await worker.run_once():
                await _drain(worker)
            assert (await q.stats()).total == 0
        finally:
            await worker.shutdown()


async def _drain(worker: Worker) -> None:
    for consumer in worker.consumers:
        if consumer.inflight:
            await asyncio.gather(*consumer.inflight)
