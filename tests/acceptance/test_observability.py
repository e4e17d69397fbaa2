"""Issue 15's acceptance (all but traces): an app with every kind of component; after one
failed front-door request, the metrics, the JSON log lines with their ids and the alarm
notification (the failing event and the redrive command) on a queue, a webhook and the
default bus, on both stores."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from stormproof import App, Target, Worker
from stormproof.telemetry import logs
from stormproof.testing import FakeClock
from tests.http.server import serving
from tests.http.test_metrics import samples


def every_kind(store_url: str, clock: FakeClock, hook: str) -> App:
    app = App("shop", store_url, clock=clock)
    dlq = app.queue("orders-dlq", retention=14 * 86400)
    orders = app.queue("orders", visibility_timeout=20, dead_letter=dlq, max_receive_count=1)
    ops, seen = app.queue("ops"), app.queue("alarm-events")
    psp = app.breaker("psp", consecutive_failures=5)
    app.limit("carrier", rate=100, burst=100)

    @app.function(timeout=3)
    async def charge(event: Any, context: Any) -> None:
        order = json.loads(event["Records"][0]["body"])
        async with psp:
            raise ValueError(f"card declined for order {order['order']}")

    @app.function(timeout=3)
    async def tally(event: Any, context: Any) -> None:
        """Consumes the clicks stream."""

    app.consume(orders, charge, batch_size=1)
    app.consume(app.stream("clicks"), tally)
    app.state_machine(
        "refund", {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
    )
    app.bus().rule("alarms", {"detail-type": ["Alarm State Change"]}, [Target(seen)])
    app.api.post("/orders", to=orders)
    app.alarm_defaults(notify=[ops, hook])
    return app


@asynccontextmanager
async def webhook() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A loopback HTTP endpoint recording the JSON bodies POSTed to it."""
    got: list[dict[str, Any]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        got.append(json.loads(await reader.readexactly(length)))
        writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/alarms", got
    finally:
        server.close()
        await server.wait_closed()


async def test_one_failed_request_is_measured_logged_and_notified(store_url: str) -> None:
    stream, clock = io.StringIO(), FakeClock()
    undo_logs = logs.configure("json", "INFO", stream)
    try:
        async with webhook() as (hook, posted):
            app = every_kind(store_url, clock, hook)
            app.enable_metrics()
            undo = app.alarms.collector.subscribe()  # what a background worker's loop does
            async with serving(app, webhooks=False) as client:
                accepted = await client.post("/orders", json={"order": 13})
                assert accepted.status_code == 202, accepted.text
                worker = Worker(app, background=False)
                for _ in range(2):
                    await worker.run_once()
                    clock.advance(21)
                sent = await app.alarms.run_once()
                await app.buses.run_once()
                scraped = samples((await client.get("/metrics")).text)
                notes = [json.loads(m.body) for m in await app.queues._declared["ops"].receive(10)]
                bus = [
                    json.loads(m.body)
                    for m in await app.queues._declared["alarm-events"].receive(10)
                ]
                await worker.shutdown()
            undo()
    finally:
        undo_logs()
    request_id = accepted.json()["request_id"]
    # metrics
    assert scraped[("stormproof_queue_messages_dead_lettered_total", (("queue", "orders"),))] == 1
    assert scraped[("stormproof_function_errors_total", (("function", "charge"),))] == 1
    assert scraped[("stormproof_queue_visible_messages", (("queue", "orders-dlq"),))] == 1
    # JSON log lines with the ids
    lines = [json.loads(x) for x in stream.getvalue().splitlines() if x]
    (failed,) = [x for x in lines if x["event"] == "invocation.failed"]
    assert (failed["app"], failed["function"], failed["attempt"]) == ("shop", "charge", 1)
    (dead,) = [x for x in lines if x["event"] == "message.dead_lettered"]
    assert (dead["queue"], dead["dlq"], dead["level"]) == ("orders", "orders-dlq", "WARNING")
    (changed,) = [x for x in lines if x["event"] == "alarm.changed"]
    assert changed["level"] == "WARNING" and changed["app"] == "shop"
    # the notification: on the queue, the webhook and (state change) the default bus
    assert [(b["alarm"], b["to"]) for b in sent] == [("dlq:orders-dlq", "ALARM")]
    assert notes == sent and posted == sent
    (item,) = sent[0]["incidents"]
    assert item["message_id"] == dead["message_id"] and request_id in json.dumps(item)
    assert json.loads(item["event"]) == {"order": 13}
    error = ("ValueError", "card declined for order 13")
    assert (item["error_type"], item["error_message"]) == error
    assert item["redrive"] == "stormproof dlq redrive orders-dlq"
    assert [(e["source"], e["detail"]["alarm"]) for e in bus] == [("stormproof", "dlq:orders-dlq")]
