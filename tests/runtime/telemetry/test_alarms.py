"""Alarms on a real store: built-in DLQ alarms notify with the failing event, one evaluator,
webhook and SMTP targets, state changes on the default bus."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from stormproof import App, Target, Worker, smtp_target
from stormproof.core.breaker import State
from stormproof.engine import events
from stormproof.errors import InvalidAttribute, Throttled
from stormproof.testing import FakeClock


def poison_app(store_url: str, **kwargs: Any) -> tuple[App, Any]:
    app = App("shop", store_url, **kwargs)
    dlq = app.queue("orders-dlq", retention=14 * 86400)
    q = app.queue("orders", visibility_timeout=1, dead_letter=dlq, max_receive_count=1)

    @app.function(timeout=1)
    async def charge(event: Any, context: Any) -> None:
        order = json.loads(event["Records"][0]["body"])["order"]
        raise ValueError(f"card declined for {order}")

    app.consume(q, charge, batch_size=1)
    return app, q


async def test_a_dead_letter_reaches_the_target_within_10_s_with_its_event(store_url: str) -> None:
    app, q = poison_app(store_url)
    ops = app.queue("ops")
    app.alarm_defaults(notify=[ops])
    arrived: list[float] = []
    undo = events.subscribe(
        lambda e: arrived.append(time.monotonic()) if e.name == "message.dead_lettered" else None
    )
    try:
        async with app:
            worker = Worker(app)
            running = asyncio.create_task(worker.run())
            mid = await q.send({"order": 7})
            got = await _receive(ops, 20)
            worker.stop()
            await running
    finally:
        undo()
    assert arrived and got is not None
    assert got[1] - arrived[0] < 10
    body = json.loads(got[0])
    assert (body["alarm"], body["from"], body["to"]) == ("dlq:orders-dlq", "OK", "ALARM")
    (item,) = body["incidents"]
    assert json.loads(item["event"]) == {"order": 7} and item["message_id"] == mid  # verbatim
    assert (item["error_type"], item["error_message"]) == ("ValueError", "card declined for 7")
    assert item["attempts"] == 1 and item["sent_at"] and item["dead_lettered_at"]
    assert item["redrive"] == "stormproof dlq redrive orders-dlq"


async def _receive(queue: Any, within: float) -> tuple[str, float] | None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for m in await queue.receive(max_messages=1, wait=1):
            await queue.delete(m.receipt_handle)
            return m.body, time.monotonic()
    return None


class _Inbox:
    def __init__(self) -> None:
        self.mails: list[Any] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.mails.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def inbox() -> Iterator[tuple[_Inbox, int]]:
    handler = _Inbox()
    with socket.socket() as s:  # a free port (aiosmtpd's ready check cannot use port 0)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


async def test_email_bus_event_back_to_ok(store_url: str, inbox: tuple[_Inbox, int]) -> None:
    handler, port = inbox
    clock = FakeClock()
    app, q = poison_app(store_url, clock=clock)
    dlq = app.queues._declared["orders-dlq"]
    seen = app.queue("alarm-events")
    app.bus().rule(
        "alarms", {"source": ["stormproof"], "detail-type": ["Alarm State Change"]}, [Target(seen)]
    )
    paged: list[Any] = []

    @app.function(timeout=1, on_failure=app.queue("pager-failures"))
    async def pager(event: Any, context: Any) -> None:
        paged.append(event)

    mail = smtp_target("127.0.0.1", port, "sp@example.com", "ops@example.com")
    app.alarm_defaults(notify=[mail, pager])
    undo = app.alarms.collector.subscribe()  # a background worker's alarm loop does this
    async with app:
        worker = Worker(app, background=False)
        await q.send({"order": 8})
        for _ in range(2):
            await worker.run_once()
            clock.advance(2)
        sent = await app.alarms.run_once()
        assert [(b["alarm"], b["to"]) for b in sent] == [("dlq:orders-dlq", "ALARM")]
        await worker.run_once()  # the function target: an async invocation
        assert paged == sent
        for m in await dlq.receive(max_messages=10):
            await dlq.delete(m.receipt_handle)
        clock.advance(1)
        back = await app.alarms.run_once()
        assert [(b["from"], b["to"]) for b in back] == [("ALARM", "OK")]
        await app.buses.run_once()
        bus_events = [json.loads(m.body) for m in await seen.receive(max_messages=10)]
        await worker.shutdown()
    undo()
    await asyncio.sleep(0.2)  # the SMTP server hands the mail over on its own thread
    assert [mail["Subject"] for mail in handler.mails] == [
        "[stormproof] dlq:orders-dlq is ALARM (shop)",
        "[stormproof] dlq:orders-dlq is OK (shop)",
    ]
    text = handler.mails[0].get_payload()
    assert "ValueError: card declined for 8" in text and "stormproof dlq redrive orders-dlq" in text
    assert sorted(e["detail"]["to"] for e in bus_events) == ["ALARM", "OK"]
    assert {e["detail-type"] for e in bus_events} == {"Alarm State Change"}


async def test_one_evaluator_per_app_and_alarms_switch_off(store_url: str) -> None:
    clock = FakeClock()
    one, _ = poison_app(store_url, clock=clock)
    two, _ = poison_app(store_url, clock=clock)
    one.breaker("payments")
    one.breaker("local", scope="process")
    assert [a.name for a in one.alarms.definitions()] == ["breaker:payments", "dlq:orders-dlq"]
    one.disable_alarm("breaker:payments")
    two.alarm_defaults(dlq=False)
    two.alarm("failing", metric="executions_failed:m", threshold=2, for_=10)
    assert [a.name for a in one.alarms.definitions()] == ["dlq:orders-dlq"]
    assert [a.name for a in two.alarms.definitions()] == ["failing"]
    async with one, two:
        await one.alarms.run_once()
        await two.alarms.run_once()  # the lease is one's: two evaluates nothing
        assert await one.store.get_state("alarms/shop/state/dlq:orders-dlq") is not None
        assert await one.store.get_state("alarms/shop/state/failing") is None
    with pytest.raises(InvalidAttribute, match="metric"):
        one.alarm("x", metric="nope:q", threshold=1)
    with pytest.raises(InvalidAttribute, match="notify"):
        one.alarm("x", metric="dlq_depth:q", threshold=1, notify=["ftp://x"])


async def test_a_dropped_stream_batch_and_a_failed_execution_are_incidents(store_url: str) -> None:
    clock = FakeClock()
    app = App("shop", store_url, clock=clock)
    lost = app.queue("clicks-lost", retention=14 * 86400)
    clicks = app.stream("clicks")

    @app.function(timeout=1)
    async def tally(event: Any, context: Any) -> None:
        raise RuntimeError("bad click")

    app.consume(clicks, tally, max_retry_attempts=0, on_failure=lost)
    app.state_machine(
        "refund",
        {
            "StartAt": "No",
            "States": {"No": {"Type": "Fail", "Error": "Refused", "Cause": "too late"}},
        },
    )
    app.alarm("refunds", metric="executions_failed:refund", threshold=0)
    undo = app.alarms.collector.subscribe()
    try:
        async with app:
            worker = Worker(app, background=False)
            await clicks.put_record("click-1", partition_key="k")
            arn = await app.start_execution("refund", {"order": 5})
            for _ in range(3):
                await worker.run_once()
                clock.advance(2)
            sent = {b["alarm"]: b for b in await app.alarms.run_once()}
            await worker.shutdown()
    finally:
        undo()
    (dropped,) = sent["dlq:clicks-lost"]["incidents"]
    assert (dropped["kind"], dropped["error_type"]) == (
        "dropped_stream_batch",
        "RetryAttemptsExhausted",
    )
    assert dropped["fetch"].startswith("stormproof streams read clicks shardId-")
    (failed,) = sent["refunds"]["incidents"]
    assert (failed["execution_arn"], failed["error_type"]) == (arn, "Refused")
    assert json.loads(failed["event"]) == {"order": 5}  # the input, verbatim
    assert failed["redrive"] == f"stormproof executions redrive {arn}"


async def test_breaker_alarm_and_lease_takeover(store_url: str) -> None:
    clock = FakeClock()
    one, _ = poison_app(store_url, clock=clock)
    two, _ = poison_app(store_url, clock=clock)
    for app in (one, two):
        app.breaker("psp", consecutive_failures=1)
        app.alarm_defaults(dlq=False)
    async with one, two:
        with pytest.raises(RuntimeError):
            async with one.breakers.get("psp"):
                raise RuntimeError("down")
        sent = await one.alarms.run_once()
        assert [(b["alarm"], b["to"], b["reason"]) for b in sent] == [
            ("breaker:psp", "ALARM", "breaker_open:psp = 1 > 0")
        ]
        assert await two.alarms.run_once() == []  # one holds the lease
        clock.advance(6)  # one stops renewing (as if killed): its lease lapses after 5 s
        await one.breakers.get("psp").force(State.CLOSED)
        back = await two.alarms.run_once()  # two took the lease over and sees it close
    assert [(b["alarm"], b["from"], b["to"]) for b in back] == [("breaker:psp", "ALARM", "OK")]
    assert await _lease(store_url) == two.instance_id


async def _lease(store_url: str) -> str:
    app = App("reader", store_url)
    async with app:
        rec = await app.store.get_state("alarms/shop/lease")
    assert rec is not None
    holder: str = json.loads(rec.value)["holder"]
    return holder


async def test_throttles_rising_fire_and_clear_with_the_window(store_url: str) -> None:
    clock = FakeClock()
    app = App("shop", store_url, clock=clock)

    @app.function(timeout=1, concurrency=0, on_failure=app.queue("f-failures"))
    async def capped(event: Any, context: Any) -> None:
        """Reserved concurrency 0: every invocation is throttled."""

    app.alarm("capped-throttled", metric="throttles:capped", threshold=1, window=60)
    undo = app.alarms.collector.subscribe()
    try:
        async with app:
            states = []
            for _ in range(3):
                with pytest.raises(Throttled):
                    await capped.invoke({})
                clock.advance(1)
                states += [(b["to"], b["value"]) for b in await app.alarms.run_once()]
            clock.advance(61)
            states += [(b["to"], b["value"]) for b in await app.alarms.run_once()]
    finally:
        undo()
    assert states == [("ALARM", 2.0), ("OK", 0.0)]  # > 1 throttle in 60 s, then none


async def test_a_failing_target_is_logged_and_the_others_still_receive(
    store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    app, q = poison_app(store_url, clock=clock)
    ops = app.queue("ops")
    app.alarm_defaults(notify=["http://127.0.0.1:1/refused", ops])
    undo = app.alarms.collector.subscribe()
    try:
        async with app:
            worker = Worker(app, background=False)
            await q.send({"order": 1})
            for _ in range(2):
                await worker.run_once()
                clock.advance(2)
            sent = await app.alarms.run_once()
            got = [json.loads(m.body) for m in await ops.receive(max_messages=10)]
            await worker.shutdown()
    finally:
        undo()
    assert got == sent and len(sent) == 1
    assert "event=alarm.notify_failed alarm=dlq:orders-dlq target=http://127.0.0.1:1/refused" in (
        caplog.text
    )
