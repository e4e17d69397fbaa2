"""One request's trace through every hop, exported by the SDK's in-memory exporter.

front door (real HTTP) -> queue -> function (fails once: a retry) -> bus -> rule target ->
state-machine steps and task -> webhook (real HTTP receiver): one trace id throughout,
span names and attributes per the messaging semantic conventions.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import uvicorn
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from stormproof import App, Target
from stormproof.worker import Worker
from tests.http.server import serving

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
INCOMING = f"00-{TRACE}-00f067aa0ba902b7-01"
HOPS = (
    "POST /orders",
    "send orders",
    "process orders",
    "send _bus-shop",
    "process _bus-shop",
    "send _sfn-steps",
    "process _sfn-steps",
    "send _sfn-tasks",
    "process _sfn-tasks",
    "process stormproof-webhooks",
)
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def exporter() -> Iterator[tuple[InMemorySpanExporter, TracerProvider]]:
    """An SDK provider exporting every span to memory, as it ends."""
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    yield memory, provider
    provider.shutdown()


@contextlib.asynccontextmanager
async def receiving(seen: list[dict[str, str]]) -> AsyncIterator[str]:
    """A loopback webhook receiver keeping each delivery's headers."""

    async def hook(request: Request) -> Response:
        seen.append(dict(request.headers))
        return Response(status_code=200)

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn.Config(
            Starlette(routes=[Route("/hook", hook, methods=["POST"])]), log_level="warning"
        )
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def until(check: Callable[[], bool], seconds: float = 15) -> None:
    """Poll ``check`` (real work on real stores) until it holds."""
    for _ in range(int(seconds / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition never held")


def chain_app(store_url: str, calls: list[str]) -> App:
    """Every kind of hop: a route to a queue, a function consuming it that publishes on a
    bus, a rule starting a machine whose Task runs a function."""
    app = App("traced", store_url)
    orders = app.queue("orders", visibility_timeout=1)
    shop = app.bus("shop")

    @app.function(timeout=1)
    async def take_order(event: Any, context: Any) -> None:
        calls.append("take_order")
        if calls.count("take_order") == 1:
            raise RuntimeError("first try fails")
        await shop.put_events([{"source": "shop", "detail_type": "placed", "detail": {"n": 1}}])
        context.complete_request({"ok": True})

    @app.function(timeout=5)
    async def charge(event: Any, context: Any) -> dict[str, Any]:
        calls.append("charge")
        return {"charged": True}

    book = app.state_machine(
        "Book",
        definition={
            "StartAt": "Charge",
            "States": {
                "Charge": {"Type": "Task", "Resource": "charge", "Next": "Done"},
                "Done": {"Type": "Pass", "End": True},
            },
        },
    )
    shop.rule("book", pattern={"source": ["shop"]}, targets=[Target(book)])
    app.consume(orders, take_order, batch_size=1)
    app.api.post("/orders", to=orders, webhook=True)
    app.api.settings.webhook_secrets = [SECRET]
    app.api.settings.callback_hosts = ["127.0.0.1"]
    return app


def named(spans: list[ReadableSpan], name: str) -> list[ReadableSpan]:
    """The spans called ``name``, in the order they ended."""
    return [s for s in spans if s.name == name]


async def test_one_request_is_one_trace_through_every_hop(
    store_url: str, exporter: tuple[InMemorySpanExporter, TracerProvider]
) -> None:
    memory, provider = exporter
    calls: list[str] = []
    seen: list[dict[str, str]] = []
    app = chain_app(store_url, calls)
    app.enable_tracing(provider)
    async with receiving(seen) as url, serving(app) as client:
        r = await client.post(
            "/orders", json={"callback_url": url}, headers={"traceparent": INCOMING}
        )
        assert r.status_code == 202
        worker = Worker(app, concurrency=4)
        task = asyncio.create_task(worker.run())
        try:
            await until(lambda: bool(seen) and "charge" in calls)
            # The state after a Task is entered by whichever consumer takes that step: the
            # task consumer itself when the execution is unchanged (one unit for outcome
            # and next step), a step message otherwise.
            await until(
                lambda: any(
                    s.name in ("process _sfn-steps", "process _sfn-tasks") and _state(s) == "Done"
                    for s in memory.get_finished_spans()
                )
            )
        finally:
            worker.stop()
            await task
    spans = list(memory.get_finished_spans())
    assert {s.context.trace_id for s in spans} == {int(TRACE, 16)}  # one trace, continued
    names = {s.name for s in spans}
    for hop in HOPS:
        assert hop in names, (hop, sorted(names))
    [server] = named(spans, "POST /orders")
    assert server.kind is SpanKind.SERVER and server.parent is not None
    assert server.parent.span_id == int(INCOMING[36:52], 16)
    _assert_conventions(spans)
    _assert_retry(spans)
    # The webhook continues the run that finished the request; its traceparent header
    # names the span that sent it, in the same trace.
    [hook] = named(spans, "process stormproof-webhooks")
    finished = {s.context.span_id for s in named(spans, "process orders")}
    assert hook.parent is not None and hook.parent.span_id in finished
    [sent] = named(spans, "send " + url.split("/")[2])
    assert seen[-1]["traceparent"] == f"00-{TRACE}-{sent.context.span_id:016x}-01"
    await app.close()


def _state(span: ReadableSpan) -> str | None:
    return (span.attributes or {}).get("stormproof.state_name")  # type: ignore[return-value]


def _assert_conventions(spans: list[ReadableSpan]) -> None:
    for span in spans:
        attrs = span.attributes or {}
        if span.kind not in (SpanKind.PRODUCER, SpanKind.CONSUMER):
            continue
        operation, destination = span.name.split(" ", 1)
        assert attrs["messaging.system"] == "stormproof"
        assert attrs["messaging.destination.name"] == destination
        assert attrs["messaging.operation.type"] == operation
        if operation == "process":
            assert attrs["messaging.message.id"]
            assert span.kind is SpanKind.CONSUMER
        else:
            assert span.kind is SpanKind.PRODUCER


def _assert_retry(spans: list[ReadableSpan]) -> None:
    """The function's second run is its own span, linked to the message's producer."""
    first, second = named(spans, "process orders")
    assert (first.attributes or {})["stormproof.attempt"] == 1
    assert (second.attributes or {})["stormproof.attempt"] == 2
    assert first.status.status_code.name == "ERROR"
    assert second.context.span_id != first.context.span_id
    [link] = second.links
    assert (link.attributes or {})["stormproof.link"] == "retry_of"
    assert link.context.span_id == second.parent.span_id  # type: ignore[union-attr]
