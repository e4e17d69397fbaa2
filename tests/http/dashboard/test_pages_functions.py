"""The Functions page over real HTTP on both stores, with a real worker: invocations,
errors, duration percentiles and the queue's sparkline from the merged activity records;
a mapping disabled from the page stops claiming in the worker until enabled again."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import httpx

from stormproof import App, Worker
from tests.http.dashboard.test_pages import _post
from tests.http.server import serving


async def _poll(client: httpx.AsyncClient, path: str, pattern: str) -> str:
    for _ in range(300):
        html = (await client.get(path)).text
        if re.search(pattern, html):
            return html
        await asyncio.sleep(0.05)
    raise AssertionError(f"{pattern!r} never matched on {path}")


def busy_app(store_url: str) -> App:
    app = App("fn-ui", store_url)
    jobs = app.queue("jobs", visibility_timeout=1)

    @app.function(timeout=1, concurrency=2)
    async def work(event: Any, context: Any) -> None:
        record = event["Records"][0]
        first = record["attributes"]["ApproximateReceiveCount"] == "1"
        if json.loads(record["body"]).get("fail") and first:
            raise ValueError("bad job")  # once: the retry succeeds

    app.consume(jobs, work, batch_size=1)
    return app


async def test_functions_page_counts_and_mapping_switch(store_url: str) -> None:
    app = busy_app(store_url)
    async with serving(app, webhooks=False) as client:
        jobs = await app.get_queue("jobs")
        worker = Worker(app)
        running = asyncio.create_task(worker.run())
        try:
            for body in ({"n": 1}, {"n": 2}, {"n": 3}, {"fail": True}):
                await jobs.send(json.dumps(body))
            html = await _poll(client, "/ui/functions", r"<td>work</td><td>[4-9]</td><td>[1-9]")
            row = re.search(r"<td>work</td><td>(\d+)</td><td>(\d+)</td><td>([\d.]+)%</td>", html)
            assert row and int(row[2]) >= 1 and float(row[3]) > 0
            assert "≤" in html and " ms" in html and "of 2" in html  # percentiles, slots
            assert "<td>jobs:work</td>" in html and "<td>enabled</td>" in html
            overview = await _poll(client, "/ui/", r'<svg class="spark"[^>]*aria-label="[3-9]')
            assert re.search(r'<a href="/ui/functions">work</a></td><td>[4-9]', overview)
            r = await _post(
                client, "/ui/functions", "/ui/mappings/jobs:work/enabled", enabled="false"
            )
            assert r.status_code == 303
            assert "<td>disabled</td>" in (await client.get("/ui/functions")).text
            await asyncio.sleep(1.2)  # every consumer re-reads the flag within a second
            await jobs.send(json.dumps({"n": 4}))
            await asyncio.sleep(1.5)
            held = await jobs.stats()
            assert held.visible >= 1 and held.in_flight == 0  # nobody claimed it
            await _post(client, "/ui/functions", "/ui/mappings/jobs:work/enabled", enabled="true")
            for _ in range(200):
                stats = await jobs.stats()
                if stats.visible + stats.in_flight == 0:
                    break
                await asyncio.sleep(0.05)
            assert stats.visible + stats.in_flight == 0
        finally:
            worker.stop()
            await running
        audit = (await client.get("/ui/audit")).text
        assert "<td>disable</td><td>mapping jobs:work</td>" in audit
        bad = await _post(client, "/ui/functions", "/ui/mappings/nope:work/enabled", enabled="true")
        assert bad.status_code == 404
        odd = await _post(client, "/ui/functions", "/ui/mappings/jobs:work/enabled", enabled="x")
        assert odd.status_code == 400 and "enabled" in odd.text
        stale = await client.post("/ui/mappings/jobs:work/enabled", data={"csrf": "x"})
        assert stale.status_code == 403
