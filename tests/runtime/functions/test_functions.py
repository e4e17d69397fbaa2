"""Functions: definition rules, invoke under timeout and the global reserved concurrency."""

from __future__ import annotations

import asyncio
import os
import threading
from datetime import timedelta
from typing import Any

import pytest

from stormproof import App, Context, Function
from stormproof.errors import FunctionError, InvalidAttribute, Throttled
from stormproof.testing import FakeClock
from tests.runtime import process_handlers


def _app(store_url: str, clock: FakeClock | None = None) -> App:
    return App("fns", store_url, clock=clock)


# --- definitions ---------------------------------------------------------------------


def test_decorator_returns_a_function_that_runs_the_raw_handler(tmp_path: Any) -> None:
    app = App("fns", f"sqlite:///{tmp_path}/x.db")

    @app.function(timeout=10, concurrency=5)
    def reserve_flight(event: Any, context: Any) -> Any:
        return {"got": event, "context": context}

    assert isinstance(reserve_flight, Function)
    assert reserve_flight.name == "reserve_flight"
    assert reserve_flight.timeout == 10.0 and reserve_flight.concurrency == 5
    assert reserve_flight({"a": 1}, None) == {"got": {"a": 1}, "context": None}
    assert app.functions.get("reserve_flight") is reserve_flight

    @app.function
    async def bare(event: Any, context: Any) -> Any:
        return event

    assert bare.name == "bare" and bare.timeout == 3.0 and bare.concurrency is None
    named = app.function("other-name", timeout=timedelta(seconds=2))(lambda e, c: e)
    assert named.name == "other-name" and named.timeout == 2.0


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"timeout": 0.5}, "timeout"),
        ({"timeout": 901}, "timeout"),
        ({"timeout": "3"}, "timeout"),
        ({"concurrency": -1}, "concurrency"),
        ({"concurrency": 1.5}, "concurrency"),
        ({"concurrency": True}, "concurrency"),
        ({"max_retry_attempts": 3}, "max_retry_attempts"),
        ({"max_retry_attempts": -1}, "max_retry_attempts"),
        ({"max_event_age": 59}, "max_event_age"),
        ({"max_event_age": 21601}, "max_event_age"),
        ({"isolation": "fiber"}, "isolation"),
        ({"on_success": "a-queue-name"}, "on_success"),
        ({"name": "has space"}, "name"),
        ({"name": "x" * 65}, "name"),
    ],
)
def test_invalid_definitions_fail_when_defined(
    tmp_path: Any, options: dict[str, Any], field: str
) -> None:
    app = App("fns", f"sqlite:///{tmp_path}/x.db")
    with pytest.raises(InvalidAttribute) as err:
        app.function(**{"name": "f", **options})(lambda e, c: None)
    assert err.value.field == field


def test_fifo_destinations_and_duplicate_names_are_refused(tmp_path: Any) -> None:
    app = App("fns", f"sqlite:///{tmp_path}/x.db")
    fifo = app.queue("out.fifo")
    with pytest.raises(InvalidAttribute, match="standard queue"):
        app.function(name="f", on_failure=fifo)(lambda e, c: None)
    app.function(name="g")(lambda e, c: None)
    with pytest.raises(InvalidAttribute, match="no other function"):
        app.function(name="g")(lambda e, c: None)

    async def handler(event: Any, context: Any) -> None: ...

    with pytest.raises(InvalidAttribute, match="async def"):
        app.function(name="h", isolation="process")(handler)


# --- invoke --------------------------------------------------------------------------


async def test_invoke_returns_the_result_with_a_context(store_url: str) -> None:
    clock = FakeClock()
    app = _app(store_url, clock)
    seen: list[Context] = []

    @app.function(timeout=30)
    async def echo(event: Any, context: Context) -> Any:
        seen.append(context)
        assert context.remaining_time() == 30
        context.logger.info("inside")
        return {"echo": event}

    async with app:
        assert await echo.invoke({"x": 1}) == {"echo": {"x": 1}}
        ctx = seen[0]
        assert ctx.attempt == 1 and ctx.function_name == "echo"
        assert len(ctx.request_id) == 36 and ctx.aws_request_id == ctx.request_id
        assert ctx.get_remaining_time_in_millis() == 30_000


async def test_invoke_raises_function_error_with_type_and_message(store_url: str) -> None:
    app = _app(store_url)

    @app.function
    def boom(event: Any, context: Any) -> None:
        raise KeyError("missing")

    async with app:
        with pytest.raises(FunctionError) as err:
            await boom.invoke({})
    assert err.value.error_type == "KeyError"
    assert err.value.error_message == "'missing'"


async def test_async_handler_times_out_on_the_fake_clock(store_url: str) -> None:
    clock = FakeClock()
    app = _app(store_url, clock)
    started, cancelled = asyncio.Event(), asyncio.Event()

    @app.function(timeout=3)
    async def slow(event: Any, context: Any) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async with app:
        call = asyncio.create_task(slow.invoke({}))
        await started.wait()
        clock.advance(2.9)
        await asyncio.sleep(0)
        assert not call.done()
        clock.advance(0.2)
        with pytest.raises(FunctionError) as err:
            await call
        assert err.value.error_type == "Sandbox.Timedout"
        assert "3.00 seconds" in err.value.error_message
        await asyncio.wait_for(cancelled.wait(), 5)


async def test_timed_out_sync_handler_keeps_its_slot_until_its_thread_ends(
    store_url: str,
) -> None:
    clock = FakeClock()
    app = _app(store_url, clock)
    started, release = threading.Event(), threading.Event()

    @app.function(timeout=1, concurrency=1)
    def stuck(event: Any, context: Any) -> str:
        if event == "block":
            started.set()
            release.wait(30)
        return "done"

    async with app:
        call = asyncio.create_task(stuck.invoke("block"))
        await asyncio.to_thread(started.wait, 10)
        clock.advance(1.5)
        with pytest.raises(FunctionError, match="timed out"):
            await call
        # The thread still runs: the one slot is still taken.
        with pytest.raises(Throttled):
            await stuck.invoke("quick")
        release.set()
        pool = stuck.slot_pool()
        assert pool is not None
        for _ in range(500):
            if pool.in_use == 0:
                break
            await asyncio.sleep(0.01)
        assert await stuck.invoke("quick") == "done"


async def test_concurrency_zero_is_always_throttled(store_url: str) -> None:
    app = _app(store_url)

    @app.function(concurrency=0)
    async def off(event: Any, context: Any) -> None: ...

    async with app:
        with pytest.raises(Throttled) as err:
            await off.invoke({})
    assert err.value.name == "off"


async def test_reserved_concurrency_is_global_across_apps(store_url: str) -> None:
    """Two App instances (as two processes would) share one slot of ``concurrency=1``."""
    clock = FakeClock()
    gate = asyncio.Event()
    apps = [_app(store_url, clock), _app(store_url, clock)]
    fns = []
    for app in apps:

        async def limited(event: Any, context: Any) -> str:
            await gate.wait()
            return "ok"

        fns.append(app.function(name="limited", timeout=60, concurrency=1)(limited))
    async with apps[0], apps[1]:
        first = asyncio.create_task(fns[0].invoke({}))
        await asyncio.sleep(0.05)
        with pytest.raises(Throttled):
            await fns[1].invoke({})
        gate.set()
        assert await first == "ok"
        # The first app keeps its idle slot for a moment (its allotment), then gives it back.
        with pytest.raises(Throttled):
            await fns[1].invoke({})
        clock.advance(1)
        await apps[0].functions.concurrency.tick()
        # The ticker task may be the one giving the slot back: let its round trip land.
        for _ in range(200):
            try:
                assert await fns[1].invoke({}) == "ok"
                break
            except Throttled:
                await asyncio.sleep(0.01)
        else:
            pytest.fail("the idle slot was never given back")


async def test_slots_of_a_dead_process_come_back_after_their_ttl(store_url: str) -> None:
    from stormproof.engine.slots import SLOT_TTL

    clock = FakeClock()
    gate = asyncio.Event()
    dead, alive = _app(store_url, clock), _app(store_url, clock)
    fns = []
    for app in (dead, alive):

        async def f(event: Any, context: Any) -> str:
            await gate.wait()
            return "ok"

        fns.append(app.function(name="f", timeout=900, concurrency=1)(f))
    async with dead, alive:
        hung = asyncio.create_task(fns[0].invoke({}))
        await asyncio.sleep(0.05)
        # The first "process" stops renewing (as if killed): cancel its ticker.
        ticker = dead.functions.concurrency._ticker
        assert ticker is not None
        ticker.cancel()
        with pytest.raises(Throttled):
            await fns[1].invoke({})
        clock.advance(SLOT_TTL + 0.1)
        gate.set()
        assert await fns[1].invoke({}) == "ok"
        await hung


async def test_invoke_async_stores_the_event_durably(store_url: str) -> None:
    app = _app(store_url)

    @app.function
    async def later(event: Any, context: Any) -> None: ...

    async with app:
        request_id = await later.invoke_async({"n": 1})
        assert len(request_id) == 36
        q = await app.get_queue(later.queue_name)
        assert (await q.stats()).visible == 1
        with pytest.raises(InvalidAttribute, match="JSON"):
            await later.invoke_async({1, 2})


async def test_process_isolation_runs_in_a_child_and_kills_it_on_timeout(
    store_url: str,
) -> None:
    clock = FakeClock()
    app = process_handlers.make_app(store_url, clock)
    async with app:
        pid = await process_handlers.where.invoke({})
        assert pid != os.getpid()
        assert await process_handlers.where.invoke({}) == pid  # the child is reused
        call = asyncio.create_task(process_handlers.hang.invoke({}))
        await asyncio.sleep(0.5)
        clock.advance(2)
        with pytest.raises(FunctionError) as err:
            await call
        assert err.value.error_type == "Sandbox.Timedout"
        with pytest.raises(FunctionError) as err:
            await process_handlers.fail.invoke({})
        assert (err.value.error_type, err.value.error_message) == ("ValueError", "bad input")
