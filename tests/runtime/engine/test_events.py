"""Runtime events: emitted once at the key points, with real attempt numbers, on both stores."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from stormproof import App, Worker
from stormproof.engine import events
from stormproof.testing import FakeClock


@pytest.fixture
def seen() -> Iterator[list[events.RuntimeEvent]]:
    got: list[events.RuntimeEvent] = []
    unsubscribe = events.subscribe(got.append)
    yield got
    unsubscribe()


@contextlib.asynccontextmanager
async def running(app: App) -> AsyncIterator[Worker]:
    async with app:
        worker = Worker(app)
        await worker.start()
        try:
            yield worker
        finally:
            await worker.shutdown()


def named(seen: list[events.RuntimeEvent], name: str) -> list[events.RuntimeEvent]:
    return [e for e in seen if e.name == name]


def test_no_subscriber_means_no_call() -> None:
    assert not events.listening()
    events.emit("message.sent", "a", queue="q")  # returns at once; nothing to observe


def test_a_failing_subscriber_never_breaks_the_emitter(seen: list[events.RuntimeEvent]) -> None:
    def broken(event: events.RuntimeEvent) -> None:
        raise RuntimeError("telemetry bug")

    unsubscribe = events.subscribe(broken)
    try:
        events.emit("message.sent", "a", queue="q")
    finally:
        unsubscribe()
    assert [e.name for e in seen] == ["message.sent"]


async def test_dead_lettered_message_and_failed_invocations_carry_real_attempts(
    store_url: str, seen: list[events.RuntimeEvent]
) -> None:
    clock = FakeClock()
    app = App("ev", store_url, clock=clock)
    dlq = app.queue("work-dlq")
    q = app.queue("work", visibility_timeout=20, dead_letter=dlq, max_receive_count=2)

    @app.function(timeout=3)
    async def handle(event: Any, context: Any) -> None:
        raise RuntimeError("nope")

    app.consume(q, handle)
    async with running(app) as worker:
        mid = await q.send("poison")
        assert await worker.run_once() == 1
        clock.advance(21)
        assert await worker.run_once() == 1
        clock.advance(21)
        assert await worker.run_once() == 0
    failed = named(seen, "invocation.failed")
    assert [e.fields["attempt"] for e in failed] == [1, 2]
    assert failed[0].fields["error_type"] == "RuntimeError"
    assert failed[0].fields["function"] == "handle"
    (dead,) = named(seen, "message.dead_lettered")
    assert dead.app == "ev" and dead.level == events.WARNING
    assert dead.fields["message_id"] == mid
    assert dead.fields["queue"] == "work" and dead.fields["dlq"] == "work-dlq"
    assert dead.fields["attempt"] == 2
    assert dead.fields["body"] == "poison"


async def test_partial_batch_failure_is_one_warning(
    store_url: str, seen: list[events.RuntimeEvent]
) -> None:
    app = App("ev", store_url, clock=FakeClock())
    q = app.queue("work", visibility_timeout=20)

    @app.function(timeout=3)
    async def handle(event: Any, context: Any) -> dict[str, Any]:
        bad = [r["messageId"] for r in event["Records"] if r["body"] == "bad"]
        return {"batchItemFailures": [{"itemIdentifier": m} for m in bad]}

    app.consume(q, handle, batch_size=10, report_batch_item_failures=True)
    async with running(app) as worker:
        await q.send("good")
        bad = await q.send("bad")
        assert await worker.run_once() == 2
    (partial,) = named(seen, "batch.partially_failed")
    assert partial.level == events.WARNING
    assert partial.fields["returned"] == [bad]
    assert partial.fields["batch_size"] == 2
    assert partial.fields["queue"] == "work"
    assert [e.fields["attempt"] for e in named(seen, "invocation.succeeded")] == [1]


async def test_async_invocation_gives_up_with_the_failed_event(
    store_url: str, seen: list[events.RuntimeEvent]
) -> None:
    clock = FakeClock()
    app = App("ev", store_url, clock=clock)
    failures = app.queue("failures")

    @app.function(timeout=3, max_retry_attempts=0, on_failure=failures)
    async def charge(event: Any, context: Any) -> None:
        raise ValueError("card declined")

    async with running(app) as worker:
        rid = await charge.invoke_async({"order": 7})
        await worker.run_once()
    (gave_up,) = named(seen, "invocation.dead_lettered")
    assert gave_up.fields["request_id"] == rid
    assert gave_up.fields["event"] == {"order": 7}
    assert gave_up.fields["attempt"] == 1
    assert gave_up.fields["error"]["errorType"] == "ValueError"


async def test_failed_execution_is_a_warning_with_its_input(
    store_url: str, seen: list[events.RuntimeEvent]
) -> None:
    app = App("ev", store_url, clock=FakeClock(), consume=True)  # runs its steps here
    definition = {
        "StartAt": "Boom",
        "States": {"Boom": {"Type": "Fail", "Error": "Bad", "Cause": "planted"}},
    }
    machine = app.state_machine("M", definition=definition)
    async with app:
        arn = await machine.start({"n": 1})
        while (await app.describe_execution(arn)).status == "RUNNING":
            await asyncio.sleep(0.01)
    (failed,) = named(seen, "execution.failed")
    assert failed.fields["execution_arn"] == arn
    assert failed.fields["error_type"] == "Bad"
    assert failed.level == events.WARNING
    assert "Boom" in [e.fields["state_name"] for e in named(seen, "execution.state_entered")]
