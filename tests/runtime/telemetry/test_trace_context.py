"""The trace context carrier without OpenTelemetry: pure stamping, and a front-door
``traceparent`` carried unchanged to the function, its log lines and its webhook."""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from stormproof import App
from stormproof.core import trace_context
from stormproof.core.queue_rules import decode_attributes, encode_attributes
from stormproof.engine import tracing
from stormproof.telemetry import logs
from stormproof.worker import Worker
from tests.http.server import serving
from tests.runtime.telemetry.test_traces import SECRET, receiving, until

TRACE = "0af7651916cd43dd8448eb211c80319c"
INCOMING = f"00-{TRACE}-b7ad6b7169203331-01"

traceparents = st.builds(
    trace_context.format_traceparent,
    st.integers(1, 2**128 - 1),
    st.integers(1, 2**64 - 1),
    st.booleans(),
)
names = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,10}", fullmatch=True)
values = st.one_of(st.text("abc xyz", min_size=1), st.integers(-10, 10), st.binary(max_size=4))
user_attributes = st.dictionaries(names, values, max_size=5)


@given(user_attributes, traceparents, traceparents)
def test_stamping_keeps_the_senders_attributes_and_replaces_an_older_context(
    attributes: dict[str, Any], first: str, second: str
) -> None:
    encoded, _ = encode_attributes(attributes)
    stamped = trace_context.stamp(encoded, first)
    assert trace_context.read(stamped) == first
    assert decode_attributes(stamped) == decode_attributes(encoded)
    again = trace_context.stamp(stamped, second)
    assert trace_context.read(again) == second
    assert decode_attributes(again) == decode_attributes(encoded)
    assert json.loads(again or "{}").keys() == {trace_context.KEY, *attributes}


@given(traceparents)
def test_a_valid_traceparent_is_kept_and_its_ids_read(traceparent: str) -> None:
    assert trace_context.valid(traceparent.upper()) == traceparent
    assert trace_context.trace_id(traceparent) == traceparent[3:35]
    assert trace_context.span_id(traceparent) == traceparent[36:52]


def test_malformed_or_zero_contexts_start_a_new_trace() -> None:
    span = "b7ad6b7169203331"
    for bad in (
        "",
        "00-abc",
        f"00-{'0' * 32}-{span}-01",
        f"00-{TRACE}-{'0' * 16}-01",
        f"01-{TRACE}-{span}-01",
        None,
        7,
    ):
        assert trace_context.valid(bad) is None
    assert trace_context.read(None) is None and trace_context.read('{"a":["String","b"]}') is None
    assert trace_context.stamp(None, None) is None


async def test_a_front_door_traceparent_reaches_the_function_its_logs_and_the_webhook(
    store_url: str,
) -> None:
    assert not tracing.enabled()
    app = App("carried", store_url)
    orders = app.queue("orders", visibility_timeout=30)
    records: list[dict[str, Any]] = []

    @app.function(timeout=5)
    async def take(event: Any, context: Any) -> None:
        records.extend(event["Records"])
        context.complete_request({"ok": True})

    app.consume(orders, take, batch_size=1)
    app.api.post("/orders", to=orders, webhook=True)
    app.api.settings.webhook_secrets = [SECRET]
    app.api.settings.callback_hosts = ["127.0.0.1"]
    stream = io.StringIO()
    undo = logs.configure("json", "DEBUG", stream)
    seen: list[dict[str, str]] = []
    try:
        async with receiving(seen) as url, serving(app) as client:
            r = await client.post(
                "/orders", json={"callback_url": url}, headers={"traceparent": INCOMING}
            )
            assert r.status_code == 202
            worker = Worker(app, concurrency=2)
            task = asyncio.create_task(worker.run())
            try:
                await until(lambda: bool(seen))
            finally:
                worker.stop()
                await task
    finally:
        undo()
        await app.close()
    [record] = records
    assert record["attributes"]["AWSTraceHeader"] == INCOMING
    assert trace_context.KEY not in record["messageAttributes"]
    assert seen[0]["traceparent"] == INCOMING  # no spans: the same context, passed on
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line]
    [ran] = [x for x in lines if x.get("event") == "invocation.succeeded"]
    assert ran["trace_id"] == TRACE


async def test_a_received_message_shows_its_context_apart_from_its_attributes(
    store_url: str,
) -> None:
    app = App("received", store_url)
    q = app.queue("orders")
    async with app:
        with tracing.processing("upstream", [INCOMING], ["m-1"]):
            await q.send("hi", attributes={"kind": "order"})
        await q.send("untraced")
        traced, plain = await q.receive(max_messages=2)
    assert traced.trace_header == INCOMING and traced.attributes == {"kind": "order"}
    assert plain.trace_header is None and plain.attributes == {}
