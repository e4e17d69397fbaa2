"""Async invocation on a fake clock: retries with their schedule, event age, throttles,
destinations and the invocation record."""

from __future__ import annotations

import contextlib
import json
import logging
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest

from stormproof import App, Queue, Worker
from stormproof.testing import FakeClock


@contextlib.asynccontextmanager
async def running(app: App) -> AsyncIterator[Worker]:
    async with app:
        worker = Worker(app, rng=random.Random(7))
        await worker.start()
        try:
            yield worker
        finally:
            await worker.shutdown()


async def _records(q: Queue) -> list[dict[str, Any]]:
    return [json.loads(m.body) for m in await q.receive(max_messages=10, wait=0)]


async def test_success_goes_to_on_success_with_the_record(store_url: str) -> None:
    clock = FakeClock()
    app = App("inv", store_url, clock=clock)
    ok = app.queue("ok")

    @app.function(timeout=5, on_success=ok)
    async def double(event: Any, context: Any) -> Any:
        return {"doubled": event["n"] * 2, "attempt": context.attempt}

    async with running(app) as worker:
        request_id = await double.invoke_async({"n": 21})
        assert await worker.run_once() == 1
        (record,) = await _records(ok)
        assert (await (await app.get_queue(double.queue_name)).stats()).total == 0
    assert record["version"] == "1.0"
    assert record["timestamp"].endswith("Z")
    assert record["requestContext"] == {
        "requestId": request_id,
        "functionArn": "stormproof:function:double",
        "condition": "Success",
        "approximateInvokeCount": 1,
    }
    assert record["requestPayload"] == {"n": 21}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"] == {"doubled": 42, "attempt": 1}


async def test_errors_are_retried_about_one_then_two_minutes_later(store_url: str) -> None:
    clock = FakeClock()
    app = App("inv", store_url, clock=clock)
    failed = app.queue("failed")
    attempts: list[int] = []

    @app.function(timeout=5, on_failure=failed)
    def flaky(event: Any, context: Any) -> None:
        attempts.append(context.attempt)
        raise RuntimeError(f"attempt {context.attempt}")

    async with running(app) as worker:
        await flaky.invoke_async({"k": "v"})
        assert await worker.run_once() == 1
        clock.advance(53)  # the first retry waits 60 s +- 10 %
        assert await worker.run_once() == 0
        clock.advance(14)
        assert await worker.run_once() == 1
        clock.advance(107)  # the second waits 120 s +- 10 %
        assert await worker.run_once() == 0
        clock.advance(26)
        assert await worker.run_once() == 1
        assert attempts == [1, 2, 3]
        (record,) = await _records(failed)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestPayload"] == {"k": "v"}
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"] == {"errorMessage": "attempt 3", "errorType": "RuntimeError"}


async def test_zero_retries_fail_at_once(store_url: str) -> None:
    app = App("inv", store_url, clock=FakeClock())
    failed = app.queue("failed")

    @app.function(max_retry_attempts=0, on_failure=failed)
    async def once(event: Any, context: Any) -> None:
        raise ValueError("no")

    async with running(app) as worker:
        await once.invoke_async(1)
        await worker.run_once()
        (record,) = await _records(failed)
    assert record["requestContext"]["approximateInvokeCount"] == 1


async def test_a_timeout_is_a_function_error(store_url: str) -> None:
    import asyncio

    clock = FakeClock()
    app = App("inv", store_url, clock=clock)
    failed = app.queue("failed")
    started = asyncio.Event()

    @app.function(timeout=2, max_retry_attempts=0, on_failure=failed)
    async def slow(event: Any, context: Any) -> None:
        started.set()
        await asyncio.Event().wait()

    async with running(app) as worker:
        await slow.invoke_async(1)
        await worker.consumers[0].poll_once()
        await started.wait()
        clock.advance(2.5)
        await worker.wait_idle()
        (record,) = await _records(failed)
    assert record["responsePayload"]["errorType"] == "Sandbox.Timedout"


async def test_old_events_are_not_run_again(store_url: str) -> None:
    clock = FakeClock()
    app = App("inv", store_url, clock=clock)
    failed = app.queue("failed")
    calls: list[Any] = []

    @app.function(max_event_age=60, on_failure=failed)
    async def fn(event: Any, context: Any) -> None:
        calls.append(event)

    async with running(app) as worker:
        await fn.invoke_async("stale")
        clock.advance(61)
        await worker.run_once()
        (record,) = await _records(failed)
    assert calls == []
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 0


async def test_a_retry_past_the_event_age_gives_up(store_url: str) -> None:
    clock = FakeClock()
    app = App("inv", store_url, clock=clock)
    failed = app.queue("failed")

    @app.function(max_event_age=90, on_failure=failed)
    async def fn(event: Any, context: Any) -> None:
        raise RuntimeError("again")

    async with running(app) as worker:
        await fn.invoke_async("e")
        await worker.run_once()  # fails; retry in ~60 s (still young enough)
        clock.advance(70)
        await worker.run_once()  # fails; the next retry (~120 s) would be past 90 s
        (record,) = await _records(failed)
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["responsePayload"]["errorMessage"] == "again"


async def test_concurrency_zero_sends_events_straight_to_on_failure(store_url: str) -> None:
    app = App("inv", store_url, clock=FakeClock())
    failed = app.queue("failed")
    calls: list[Any] = []

    @app.function(concurrency=0, on_failure=failed)
    async def off(event: Any, context: Any) -> None:
        calls.append(event)

    async with running(app) as worker:
        await off.invoke_async({"a": 1})
        assert await worker.run_once() == 1
        (record,) = await _records(failed)
    assert calls == []
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 0
    assert record["responseContext"]["statusCode"] == 429


async def test_a_function_destination_gets_the_record_as_its_event(store_url: str) -> None:
    app = App("inv", store_url, clock=FakeClock())
    got: list[Any] = []

    @app.function
    async def audit(event: Any, context: Any) -> None:
        got.append(event)

    @app.function(max_retry_attempts=0, on_failure=audit)
    async def fails(event: Any, context: Any) -> None:
        raise KeyError("k")

    async with running(app) as worker:
        await fails.invoke_async({"x": 1})
        await worker.run_once()  # runs `fails`, enqueues the record for `audit`
        await worker.run_once()  # runs `audit`
    (record,) = got
    assert record["requestContext"]["functionArn"] == "stormproof:function:fails"
    assert record["requestPayload"] == {"x": 1}


async def test_no_destination_drops_after_logging(
    store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    app = App("inv", store_url, clock=clock)

    @app.function(max_retry_attempts=1)
    async def fn(event: Any, context: Any) -> None:
        raise RuntimeError("x")

    with caplog.at_level(logging.INFO, logger="stormproof"):
        async with running(app) as worker:
            request_id = await fn.invoke_async(None)
            await worker.run_once()
            clock.advance(70)
            await worker.run_once()
            assert (await (await app.get_queue(fn.queue_name)).stats()).total == 0
    lines = [r.getMessage() for r in caplog.records if r.name == "stormproof.functions.invocations"]
    kinds = [line.split()[0] for line in lines if request_id in line]
    assert kinds == [
        "event=invoke.start",
        "event=invoke.failure",
        "event=invoke.retry_scheduled",
        "event=invoke.start",
        "event=invoke.failure",
        "event=invoke.dead_lettered",
    ]
    assert "attempt=2" in lines[-1] and "condition=RetriesExhausted" in lines[-1]


async def test_async_invocations_wait_for_reserved_concurrency(store_url: str) -> None:
    import asyncio

    app = App("inv", store_url, clock=FakeClock())
    gate = asyncio.Event()
    done: list[Any] = []

    @app.function(timeout=60, concurrency=1)
    async def one(event: Any, context: Any) -> None:
        await gate.wait()
        done.append(event)

    async with running(app) as worker:
        for i in range(3):
            await one.invoke_async(i)
        assert await worker.consumers[0].poll_once() == 1  # one slot: one claim
        assert await worker.consumers[0].poll_once() == 0  # throttled, nothing claimed
        gate.set()
        await worker.wait_idle()
        while len(done) < 3:
            await worker.run_once()
    assert sorted(done) == [0, 1, 2]


async def test_an_event_bus_destination_gets_a_lambda_event(store_url: str) -> None:
    from stormproof import Target

    clock = FakeClock()
    app = App("inv", store_url, clock=clock)
    results = app.queue("results")
    bus = app.bus("results-bus")
    bus.rule("failures", pattern={"source": ["lambda"]}, targets=[Target(results)])

    @app.function(timeout=5, max_retry_attempts=0, on_failure=bus)
    async def broken(event: Any, context: Any) -> Any:
        raise ValueError("boom")

    async with running(app) as worker:
        await broken.invoke_async({"n": 1})
        assert await worker.run_once() == 1
        (event,) = await _records(results)
    assert event["source"] == "lambda"
    assert event["detail-type"] == "Lambda Function Invocation Result - Failure"
    assert event["detail"]["requestContext"]["condition"] == "RetriesExhausted"
    assert event["detail"]["requestPayload"] == {"n": 1}
