"""Event-source mappings run by a worker: event shape, deletes, failures, partial batches,
FIFO, filters, heartbeats, slot-before-claim, configuration checks and graceful shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from stormproof import App, Worker
from stormproof.errors import InvalidAttribute
from stormproof.testing import FakeClock


@contextlib.asynccontextmanager
async def running(app: App, **options: Any) -> AsyncIterator[Worker]:
    async with app:
        worker = Worker(app, **options)
        await worker.start()
        try:
            yield worker
        finally:
            await worker.shutdown()


async def _send(q: Any, *bodies: str, **extra: Any) -> list[str]:
    return [await q.send(b, **extra) for b in bodies]


# --- the event -----------------------------------------------------------------------


async def test_event_has_lambdas_sqs_shape(store_url: str) -> None:
    clock = FakeClock()
    app = App("c", store_url, clock=clock)
    q = app.queue("orders", visibility_timeout=60)
    events: list[Any] = []

    @app.function(timeout=5)
    async def handle(event: Any, context: Any) -> None:
        events.append(event)

    app.consume(q, handle)
    async with running(app) as worker:
        mid = await q.send("hello", attributes={"kind": "x", "n": 3, "raw": b"\x01"})
        assert await worker.run_once() == 1
        assert (await q.stats()).total == 0
    (record,) = events[0]["Records"]
    assert record["messageId"] == mid
    assert record["body"] == "hello"
    assert record["md5OfBody"] == hashlib.md5(b"hello").hexdigest()
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == "stormproof:sqs:orders"
    assert isinstance(record["receiptHandle"], str) and record["receiptHandle"]
    attrs = record["attributes"]
    assert attrs["ApproximateReceiveCount"] == "1"
    assert attrs["SentTimestamp"] == str(int(clock.now() * 1000))
    assert attrs["ApproximateFirstReceiveTimestamp"] == str(int(clock.now() * 1000))
    assert "MessageGroupId" not in attrs
    lists = {"stringListValues": [], "binaryListValues": []}
    assert record["messageAttributes"] == {
        "kind": {"stringValue": "x", **lists, "dataType": "String"},
        "n": {"stringValue": "3", **lists, "dataType": "Number"},
        "raw": {"binaryValue": "AQ==", **lists, "dataType": "Binary"},
    }


async def test_fifo_records_carry_group_and_dedup_ids(store_url: str) -> None:
    app = App("c", store_url, clock=FakeClock())
    q = app.queue("orders.fifo", visibility_timeout=60)
    events: list[Any] = []

    @app.function(timeout=5)
    async def handle(event: Any, context: Any) -> None:
        events.append(event)

    app.consume(q, handle)
    async with running(app) as worker:
        await q.send("a", group_id="g1", dedup_id="d1")
        await worker.run_once()
    attrs = events[0]["Records"][0]["attributes"]
    assert attrs["MessageGroupId"] == "g1" and attrs["MessageDeduplicationId"] == "d1"
    assert attrs["SequenceNumber"].isdigit()


# --- success, failure, partial batches -------------------------------------------------


async def test_success_deletes_and_batches_hold_up_to_batch_size(store_url: str) -> None:
    app = App("c", store_url, clock=FakeClock())
    q = app.queue("work", visibility_timeout=60)
    sizes: list[int] = []

    @app.function(timeout=5)
    def handle(event: Any, context: Any) -> None:
        sizes.append(len(event["Records"]))

    app.consume(q, handle, batch_size=4)
    async with running(app, concurrency=2) as worker:
        await _send(q, *[str(i) for i in range(10)])
        assert await worker.run_once() == 8
        assert await worker.run_once() == 2
        assert (await q.stats()).total == 0
    assert sorted(sizes) == [2, 4, 4]


async def test_a_failed_batch_returns_after_the_visibility_timeout(store_url: str) -> None:
    clock = FakeClock()
    app = App("c", store_url, clock=clock)
    dlq = app.queue("work-dlq")
    q = app.queue("work", visibility_timeout=20, dead_letter=dlq, max_receive_count=2)
    attempts: list[int] = []

    @app.function(timeout=3)
    async def handle(event: Any, context: Any) -> None:
        attempts.append(context.attempt)
        if event["Records"][0]["body"] == "poison":
            raise RuntimeError("nope")

    app.consume(q, handle)
    async with running(app) as worker:
        await _send(q, "poison", "fine")
        assert await worker.run_once() == 2  # one batch of both: the whole batch fails
        assert (await q.stats()).in_flight == 2
        clock.advance(19)
        assert await worker.run_once() == 0
        clock.advance(1.5)
        assert await worker.run_once() == 2
        clock.advance(21)
        # Received twice already: the claim moves both to the DLQ instead of a third run.
        assert await worker.run_once() == 0
        assert attempts == [1, 2]
        assert (await dlq.stats()).visible == 2


async def test_partial_batch_response_returns_only_the_failed(store_url: str) -> None:
    clock = FakeClock()
    app = App("c", store_url, clock=clock)
    q = app.queue("work", visibility_timeout=20)
    runs: list[list[str]] = []

    @app.function(timeout=3)
    async def handle(event: Any, context: Any) -> Any:
        bodies = [r["body"] for r in event["Records"]]
        runs.append(bodies)
        bad = [r["messageId"] for r in event["Records"] if r["body"].startswith("bad")]
        return {"batchItemFailures": [{"itemIdentifier": i} for i in bad]}

    app.consume(q, handle, report_batch_item_failures=True)
    async with running(app) as worker:
        await _send(q, "ok1", "bad1", "ok2")
        await worker.run_once()
        assert (await q.stats()).in_flight == 1
        clock.advance(21)
        await worker.run_once()
    assert runs == [["ok1", "bad1", "ok2"], ["bad1"]]


async def test_invalid_partial_response_fails_the_whole_batch(store_url: str) -> None:
    clock = FakeClock()
    app = App("c", store_url, clock=clock)
    q = app.queue("work", visibility_timeout=20)

    @app.function(timeout=3)
    async def handle(event: Any, context: Any) -> Any:
        return {"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]}

    app.consume(q, handle, report_batch_item_failures=True)
    async with running(app) as worker:
        await _send(q, "a", "b")
        await worker.run_once()
        assert (await q.stats()).in_flight == 2


async def test_fifo_failure_returns_the_rest_of_the_group(store_url: str) -> None:
    clock = FakeClock()
    app = App("c", store_url, clock=clock)
    q = app.queue("work.fifo", visibility_timeout=20)
    runs: list[list[str]] = []

    @app.function(timeout=3)
    async def handle(event: Any, context: Any) -> Any:
        runs.append([r["body"] for r in event["Records"]])
        bad = [r["messageId"] for r in event["Records"] if r["body"] == "a2"]
        if len(runs) > 1:
            bad = []
        return {"batchItemFailures": [{"itemIdentifier": i} for i in bad]}

    app.consume(q, handle, report_batch_item_failures=True)
    async with running(app) as worker:
        for body, group in [("a1", "A"), ("b1", "B"), ("a2", "A"), ("b2", "B"), ("a3", "A")]:
            await q.send(body, group_id=group, dedup_id=body)
        await worker.run_once()
        # a2 failed, so a3 came back with it; group B finished.
        assert (await q.stats()).in_flight == 2
        assert await worker.run_once() == 0  # group A waits for a2's retry
        clock.advance(21)
        await worker.run_once()
    assert runs == [["a1", "b1", "a2", "b2", "a3"], ["a2", "a3"]]


# --- filters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec",
    [
        {"body": {"kind": ["keep"]}},
        '{"body": {"kind": ["keep"]}}',
        lambda record: '"keep"' in record["body"],
    ],
    ids=["pattern", "pattern-json", "callable"],
)
async def test_filter_deletes_non_matching_messages_without_invoking(
    store_url: str, spec: Any
) -> None:
    app = App("c", store_url, clock=FakeClock())
    q = app.queue("work", visibility_timeout=20)
    seen: list[str] = []

    @app.function(timeout=3)
    async def handle(event: Any, context: Any) -> None:
        seen.extend(r["body"] for r in event["Records"])

    app.consume(q, handle, filter=spec)
    async with running(app) as worker:
        await _send(q, '{"kind": "keep", "n": 1}', '{"kind": "drop"}', "plain text")
        await worker.run_once()
        assert (await q.stats()).total == 0
    assert seen == ['{"kind": "keep", "n": 1}']


async def test_nothing_matches_no_invocation(store_url: str) -> None:
    app = App("c", store_url, clock=FakeClock())
    q = app.queue("work", visibility_timeout=20)
    calls: list[Any] = []

    @app.function(timeout=3)
    async def handle(event: Any, context: Any) -> None:
        calls.append(event)

    app.consume(q, handle, filter={"body": {"kind": ["keep"]}})
    async with running(app) as worker:
        await _send(q, '{"kind": "drop"}')
        await worker.run_once()
        assert (await q.stats()).total == 0
    assert calls == []


# --- heartbeats and slots --------------------------------------------------------------


async def test_heartbeat_extends_held_leases(store_url: str) -> None:
    from stormproof.engine.leases import LeaseKeeper
    from stormproof.storage.base import Lease

    clock = FakeClock()
    app = App("c", store_url, clock=clock)
    q = app.queue("work", visibility_timeout=30)
    async with app:
        await _send(q, "m")
        rows = await app.store.claim("work", q.attributes, 10, 30)
        keeper = LeaseKeeper(lambda: app.store, clock)
        holding = keeper.hold("work", 30, [Lease(r.rowid, r.token) for r in rows])
        assert await keeper.heartbeat() == 0  # not due yet
        for _ in range(12):  # 120 s, four visibility timeouts
            clock.advance(10)
            assert await keeper.heartbeat() == 1
            assert (await q.stats()).in_flight == 1
        keeper.forget(holding)
        clock.advance(30)
        assert (await q.stats()).visible == 1


async def test_a_running_handlers_messages_stay_hidden_past_their_first_lease(
    store_url: str,
) -> None:
    clock = FakeClock()
    app = App("c", store_url, clock=clock)
    q = app.queue("work", visibility_timeout=30)
    gate, started = asyncio.Event(), asyncio.Event()

    @app.function(timeout=30)
    async def slow(event: Any, context: Any) -> None:
        started.set()
        await gate.wait()

    app.consume(q, slow)
    async with running(app) as worker:
        await _send(q, "m")
        assert await worker.consumers[0].poll_once() == 1
        await started.wait()
        keeper = worker.keeper
        assert keeper is not None
        for _ in range(3):
            clock.advance(9.5)
            await keeper.heartbeat()
        clock.advance(2)  # 30.5 s: past the first lease (and the function's timeout)
        await worker.wait_idle()
        assert (await q.stats()).in_flight == 1  # the heartbeat extended the lease
        assert await q.receive(wait=0) == []
        gate.set()


async def test_slots_are_taken_before_claiming_so_throttles_burn_no_receives(
    store_url: str,
) -> None:
    clock = FakeClock()
    app = App("c", store_url, clock=clock)
    q = app.queue("work", visibility_timeout=120)
    gate = asyncio.Event()

    @app.function(timeout=60, concurrency=1)
    async def limited(event: Any, context: Any) -> None:
        await gate.wait()

    app.consume(q, limited, batch_size=1)
    async with running(app) as worker:
        blocker = asyncio.create_task(limited.invoke({"Records": []}))
        await asyncio.sleep(0.05)
        await _send(q, "m")
        assert await worker.consumers[0].poll_once() == 0  # throttled: nothing claimed
        (msg,) = await q.receive(wait=0)
        assert msg.receive_count == 1  # the worker's throttle did not count as a receive
        await q.change_visibility(msg.receipt_handle, 0)
        gate.set()
        await blocker
        assert await worker.run_once() == 1


async def test_max_concurrency_caps_a_mapping(store_url: str) -> None:
    app = App("c", store_url, clock=FakeClock())
    q = app.queue("work", visibility_timeout=120)
    gate = asyncio.Event()
    running_now: list[int] = []

    @app.function(timeout=60)
    async def handle(event: Any, context: Any) -> None:
        running_now.append(1)
        await gate.wait()

    app.consume(q, handle, batch_size=1, max_concurrency=2)
    async with running(app, concurrency=10) as worker:
        await _send(q, *[str(i) for i in range(6)])
        assert await worker.consumers[0].poll_once() == 2
        await asyncio.sleep(0.05)
        assert len(running_now) == 2
        gate.set()
        await worker.wait_idle()


# --- configuration ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "fifo", "field"),
    [
        ({"batch_size": 0}, False, "batch_size"),
        ({"batch_size": 10_001, "batch_window": 1}, False, "batch_size"),
        ({"batch_size": 11}, True, "batch_size"),
        ({"batch_size": 11}, False, "batch_window"),
        ({"batch_window": 301}, False, "batch_window"),
        ({"batch_window": -1}, False, "batch_window"),
        ({"batch_window": 1}, True, "batch_window"),
        ({"max_concurrency": 1}, False, "max_concurrency"),
        ({"max_concurrency": 1001}, False, "max_concurrency"),
        ({"report_batch_item_failures": "yes"}, False, "report_batch_item_failures"),
        ({"filter": 42}, False, "filter"),
    ],
)
def test_mapping_ranges_are_validated(
    tmp_path: Any, options: dict[str, Any], fifo: bool, field: str
) -> None:
    app = App("c", f"sqlite:///{tmp_path}/x.db")
    q = app.queue("w.fifo" if fifo else "w")
    fn = app.function(name="f")(lambda e, c: None)
    with pytest.raises(InvalidAttribute) as err:
        app.consume(q, fn, **options)
    assert err.value.field == field


def test_valid_extremes_are_accepted(tmp_path: Any) -> None:
    app = App("c", f"sqlite:///{tmp_path}/x.db")
    fn = app.function(name="f")(lambda e, c: None)
    m = app.consume(app.queue("a"), fn, batch_size=10_000, batch_window=300, max_concurrency=2)
    assert (m.batch_size, m.batch_window, m.max_concurrency) == (10_000, 300.0, 2)
    m = app.consume("b.fifo", fn, batch_size=10)
    assert m.fifo and m.id == "b.fifo:f"


async def test_visibility_below_function_timeout_fails_at_open(store_url: str) -> None:
    app = App("c", store_url)
    q = app.queue("work", visibility_timeout=10)
    fn = app.function(name="f", timeout=30)(lambda e, c: None)
    app.consume(q, fn)
    with pytest.raises(InvalidAttribute, match="less than function timeout"):
        await app.open()


async def test_visibility_below_six_timeouts_is_a_warning(
    store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = App("c", store_url)
    q = app.queue("work", visibility_timeout=30)
    fn = app.function(name="f", timeout=10)(lambda e, c: None)
    app.consume(q, fn, batch_window=5)
    with caplog.at_level(logging.WARNING, logger="stormproof.functions.function"):
        async with app:
            pass
    assert "6 x the timeout" in caplog.text and "65 s" in caplog.text


# --- shutdown and logs -------------------------------------------------------------------


async def test_graceful_shutdown_releases_unfinished_messages(store_url: str) -> None:
    app = App("c", store_url)
    q = app.queue("work", visibility_timeout=300)
    started = asyncio.Event()

    @app.function(timeout=100)
    async def slow(event: Any, context: Any) -> None:
        started.set()
        await asyncio.Event().wait()

    app.consume(q, slow)
    async with app:
        await _send(q, "m1", "m2")
        worker = Worker(app, shutdown_timeout=0.2)
        run = asyncio.create_task(worker.run())
        await asyncio.wait_for(started.wait(), 10)
        worker.stop()
        await asyncio.wait_for(run, 10)
        stats = await q.stats()
        assert (stats.visible, stats.in_flight) == (2, 0)


async def test_finished_work_is_deleted_during_shutdown(store_url: str) -> None:
    app = App("c", store_url)
    q = app.queue("work", visibility_timeout=300)
    started = asyncio.Event()

    @app.function(timeout=100)
    async def short(event: Any, context: Any) -> None:
        started.set()
        await asyncio.sleep(0.2)

    app.consume(q, short)
    async with app:
        await _send(q, "m1")
        worker = Worker(app, shutdown_timeout=10)
        run = asyncio.create_task(worker.run())
        await asyncio.wait_for(started.wait(), 10)
        worker.stop()
        await asyncio.wait_for(run, 10)
        assert (await q.stats()).total == 0


async def test_structured_log_lines(store_url: str, caplog: pytest.LogCaptureFixture) -> None:
    app = App("c", store_url, clock=FakeClock())
    q = app.queue("work", visibility_timeout=30)

    @app.function(timeout=3)
    async def handle(event: Any, context: Any) -> None:
        raise ValueError("x")

    app.consume(q, handle)
    with caplog.at_level(logging.INFO, logger="stormproof"):
        async with running(app) as worker:
            (mid,) = await _send(q, "m")
            await worker.run_once()
    lines = [
        r.getMessage() for r in caplog.records if r.name == "stormproof.functions.mapping_consumer"
    ]
    # At INFO one line per batch: its outcome, with the start's fields and the duration.
    assert not any(line.startswith("event=batch.start") for line in lines)
    failure = next(line for line in lines if line.startswith("event=batch.failure"))
    assert "error_type=ValueError" in failure and "attempt=1" in failure and mid in failure
    fields = [getattr(r, "stormproof", {}) for r in caplog.records]  # for JSON formatters
    outcome = next(f for f in fields if f.get("event") == "batch.failure")
    assert outcome["message_ids"] == [mid] and outcome["function"] == "handle"
    assert outcome["duration_ms"] >= 0


async def test_batch_start_is_a_debug_line(
    store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = App("c", store_url, clock=FakeClock())
    q = app.queue("work", visibility_timeout=30)

    @app.function(timeout=3)
    async def handle(event: Any, context: Any) -> None:
        return None

    app.consume(q, handle)
    with caplog.at_level(logging.DEBUG, logger="stormproof"):
        async with running(app) as worker:
            (mid,) = await _send(q, "m")
            await worker.run_once()
    starts = [r for r in caplog.records if r.getMessage().startswith("event=batch.start")]
    assert [r.levelno for r in starts] == [logging.DEBUG] and mid in starts[0].getMessage()
    success = next(r for r in caplog.records if r.getMessage().startswith("event=batch.success"))
    assert success.levelno == logging.INFO and "duration_ms=" in success.getMessage()
