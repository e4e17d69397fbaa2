"""Alarms on the dashboard over real HTTP on both stores: the overview's alarms firing,
the Alarms page with incidents, and a dead-lettered message's error details on the DLQ
page and the message page."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx

from stormproof import App, Worker
from tests.http.server import serving


async def _poll(client: httpx.AsyncClient, path: str, needle: str) -> str:
    for _ in range(300):
        html = (await client.get(path)).text
        if needle in html:
            return html
        await asyncio.sleep(0.05)
    raise AssertionError(f"{needle!r} never appeared on {path}")


def poison_app(store_url: str) -> App:
    """A queue whose consumer always raises, dead-lettered on its first failure."""
    app = App("shop-ui", store_url)
    dlq = app.queue("orders-dlq")
    orders = app.queue("orders", visibility_timeout=1, dead_letter=dlq, max_receive_count=1)
    app.breaker("payments")

    @app.function(timeout=1)
    async def charge(event: Any, context: Any) -> None:
        raise ConnectionError("card network <down>")

    app.consume(orders, charge, batch_size=1)
    return app


async def test_dead_letter_shows_alarm_and_error_details(store_url: str) -> None:
    app = poison_app(store_url)
    async with serving(app, webhooks=False) as client:
        mid = await (await app.get_queue("orders")).send(
            '{"order": 7}', attributes={"shop": "<b>x</b>"}
        )
        worker = Worker(app)
        running = asyncio.create_task(worker.run())
        try:
            alarms = await _poll(client, "/ui/alarms", "Incidents of dlq:orders-dlq")
        finally:
            worker.stop()
            await running
        assert re.search(r'<tr class="alert"><td>dlq:orders-dlq</td>', alarms)
        assert 'href="/ui/queues/orders-dlq">dlq_depth:orders-dlq' in alarms
        assert "breaker:payments" in alarms and "OK" in alarms  # every alarm, firing first
        assert alarms.index("dlq:orders-dlq") < alarms.index("breaker:payments")
        overview = (await client.get("/ui/")).text
        assert "Alarms firing" in overview and "dlq:orders-dlq" in overview
        assert "breaker:payments" not in overview.split("Dead-letter queues")[0]
        assert 'data-target="dlq-rows queue-rows alarm-rows"' in overview
        async with client.stream("GET", "/ui/events/overview") as live:
            lines = []
            async for line in live.aiter_lines():
                lines.append(line)
                if line == "event: queue-rows":
                    break
        pushed = "".join(lines).split("event: alarm-rows")[1]
        assert "<td>dlq:orders-dlq</td>" in pushed  # the firing rows are pushed live
        dlq = await _poll(client, "/ui/queues/orders-dlq", "ConnectionError")
        failures = dlq.split('id="h-fail"')[1]
        assert f'href="/ui/queues/orders-dlq/messages/{mid}"' in failures
        assert "card network &lt;down&gt;" in failures and "<down>" not in failures
        message = (await client.get(f"/ui/queues/orders-dlq/messages/{mid}")).text
        why = message.split("Why it failed")[1]
        assert "ConnectionError" in why and "stormproof dlq redrive orders-dlq" in why
        assert "<b>x</b>" not in message


async def test_alarms_page_without_alarms_evaluated(store_url: str) -> None:
    app = App("quiet", store_url)
    app.queue("plain")
    async with serving(app, webhooks=False) as client:
        html = (await client.get("/ui/alarms")).text
        assert "no alarm evaluated yet" in html
        assert "Alarms firing" in (await client.get("/ui/")).text
