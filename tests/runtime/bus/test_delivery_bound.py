"""The delivery consumer's buffer of deliveries in flight is bounded (issue 14, "every
in-memory buffer is bounded"), on both stores against a real loopback server: past
``max_deliveries`` a claimed message is refused with ``Throttled`` and a retry-after, the
accepted ones are delivered, and the refused ones are delivered later (nothing lost)."""

from __future__ import annotations

from stormproof import App, Target
from stormproof.bus.publish import delivery_queue
from stormproof.errors import Throttled
from stormproof.testing import FakeClock
from tests.runtime.bus_server import HttpServer

ENTRY = {"source": "shop", "detail_type": "order", "detail": {"n": 1}}
BOUND, EVENTS = 2, 5


async def test_deliveries_past_the_bound_are_throttled_and_delivered_later(
    store_url: str,
) -> None:
    server = await HttpServer(status=200).up()
    clock = FakeClock()
    app = App("bound", store_url, clock=clock)
    app.buses.background = False
    app.buses.max_deliveries = BOUND
    app.bus("default").rule(
        "r", pattern={"source": ["shop"]}, targets=[Target(app.http_target(server.url))]
    )
    try:
        async with app:
            await app.bus("default").put_events([ENTRY] * EVENTS)
            consumer = app.buses.consumer(app.bus("default"))
            queue = delivery_queue("default")
            rows = await app.store.claim(queue, app.attributes_of(queue), EVENTS, 5)
            assert len(rows) == EVENTS
            refused = 0
            for row in rows:
                try:
                    consumer.accept(row)
                except Throttled as exc:
                    assert exc.retry_after and exc.retry_after > 0
                    assert "max_deliveries=2" in str(exc)
                    refused += 1
            assert refused == EVENTS - BOUND
            await consumer.wait_idle()
            assert len(server.received) == BOUND  # the accepted ones, delivered
            clock.advance(6)  # the refused ones are visible again
            for _ in range(10):
                await app.buses.run_once()
                if len(server.received) == EVENTS:
                    break
            assert len(server.received) == EVENTS  # nothing lost
            counts = await app.store.counts(queue)
            assert counts.visible + counts.in_flight + counts.delayed == 0
    finally:
        await server.down()
