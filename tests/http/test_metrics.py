"""/metrics, /healthz and /readyz on the front door, scraped over real HTTP, both stores."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from stormproof import App, Worker
from stormproof.testing import FakeClock
from tests.http.server import serving


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


async def test_scrape_counts_a_dead_letter_and_reads_depths(store_url: str) -> None:
    clock = FakeClock()
    app = App("m", store_url, clock=clock)
    dlq = app.queue("orders-dlq")
    q = app.queue("orders", visibility_timeout=20, dead_letter=dlq, max_receive_count=1)

    @app.function(timeout=3)
    async def handle(event: Any, context: Any) -> None:
        raise RuntimeError("nope")

    app.consume(q, handle)
    async with serving(app, webhooks=False) as client:
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/readyz")).json() == {"status": "ready"}
        worker = Worker(app)
        await worker.start()
        await q.send("poison")
        await q.send("later", delay=60)
        await worker.run_once()
        clock.advance(21)
        await worker.run_once()
        await worker.shutdown()
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    got = samples(response.text)
    assert got[("stormproof_queue_messages_dead_lettered_total", (("queue", "orders"),))] == 1
    assert got[("stormproof_function_invocations_total", (("function", "handle"),))] == 1
    assert got[("stormproof_function_errors_total", (("function", "handle"),))] == 1
    assert got[("stormproof_function_duration_seconds_count", (("function", "handle"),))] == 1
    assert got[("stormproof_queue_visible_messages", (("queue", "orders-dlq"),))] == 1
    assert got[("stormproof_queue_delayed_messages", (("queue", "orders"),))] == 1
    assert got[("stormproof_queue_visible_messages", (("queue", "orders"),))] == 0


@pytest.mark.slow
async def test_a_scrape_with_1000_queues_reports_each(store_url: str) -> None:
    app = App("m", store_url)
    for i in range(1000):
        app.queue(f"q{i}")
    async with app:
        await app.queue("q7").send("x")
        text = (await app.metrics_exposition()).decode()
    got = samples(text)
    assert got[("stormproof_queue_visible_messages", (("queue", "q7"),))] == 1
    assert len([k for k in got if k[0] == "stormproof_queue_visible_messages"]) >= 1000
