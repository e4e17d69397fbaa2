"""The dashboard over real HTTP (uvicorn on loopback, httpx), on both stores, mounted in
the front door."""

from __future__ import annotations

import asyncio
import json
import re

import httpx

from stormproof import App
from tests.http.dashboard.demo import dead_letter, make_app, settled
from tests.http.server import serving

XSS = '<script>alert("x")</script>'


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


async def _post(client: httpx.AsyncClient, page: str, action: str, **fields: str) -> httpx.Response:
    token = csrf_of((await client.get(page)).text)
    return await client.post(action, data={"csrf": token, **fields})


async def test_overview_lists_queues_dlqs_functions_breakers(store_url: str) -> None:
    app = make_app(store_url)
    async with serving(app, webhooks=False) as client:
        assert (await client.get("/ui", follow_redirects=False)).status_code == 307
        await dead_letter(app, "lost order")
        r = await client.get("/ui/")
        assert r.status_code == 200 and "script-src" not in r.headers["content-security-policy"]
        html = r.text
        assert 'href="/ui/queues/orders"' in html and "ship" in html and "payments" in html
        dlq_row = re.search(r'<tr class="alert"><td><a href="/ui/queues/orders-dlq">', html)
        assert 'id="dlq-rows"' in html
        assert dlq_row, "a non-empty DLQ is highlighted"
        assert "Checkout" in html and "slots leased" in html
        ship = r'<td><a href="/ui/functions">ship</a></td><td>0</td><td>–</td>'
        assert re.search(ship + r"<td>0</td><td>3</td>", html)
        pool = app.functions.get("ship").slot_pool()
        assert pool is not None
        granted = await pool.acquire(2)
        assert granted >= 1
        again = (await client.get("/ui/")).text
        assert re.search(ship + rf"<td>{granted}</td><td>3</td>", again)
        data = (await client.get("/ui/api/overview")).json()
        rows = {q["name"]: q for q in data["queues"]}
        assert rows["orders-dlq"]["dlq"] and rows["orders-dlq"]["visible"] == 1
        assert not rows["orders"]["dlq"]
        assert data["breakers"][0]["state"] == "closed"
        static = await client.get("/ui/static/dashboard.js")
        assert static.status_code == 200 and "EventSource" in static.text


async def test_overview_streams_queue_rows_over_sse(store_url: str) -> None:
    app = make_app(store_url)
    async with serving(app, webhooks=False) as client:
        await (await app.get_queue("orders")).send("one")
        async with client.stream("GET", "/ui/events/overview") as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            lines = []
            async for line in r.aiter_lines():
                lines.append(line)
                if line == "" and len(lines) > 4:
                    break
        assert lines[:3] == ["retry: 1000", "", "event: dlq-rows"]
        assert "/ui/queues/orders" in "".join(lines)


async def test_queue_page_escapes_bodies_and_attributes(store_url: str) -> None:
    app = make_app(store_url)
    async with serving(app, webhooks=False) as client:
        orders = await app.get_queue("orders")
        mid = await orders.send(XSS, attributes={"note": XSS})
        for page in ("/ui/queues/orders", f"/ui/queues/orders/messages/{mid}"):
            html = (await client.get(page)).text
            assert XSS not in html and "&lt;script&gt;" in html
        one = (await client.get(f"/ui/queues/orders/messages/{mid}")).text
        assert "receive count" in one and "note" in one
        assert (await client.get("/ui/queues/orders/messages/nope")).status_code == 404
        assert (await client.get("/ui/queues/missing")).status_code == 404


async def test_messages_are_paged_and_searchable(store_url: str) -> None:
    app = make_app(store_url)
    async with serving(app, webhooks=False) as client:
        orders = await app.get_queue("orders")
        for start in range(0, 110, 10):
            await orders.send_batch([{"id": str(i), "body": f"m{start + i}"} for i in range(10)])
        tagged = await orders.send("tagged", attributes={"tenant": "acme"})
        first = (await client.get("/ui/queues/orders")).text
        assert first.count("/ui/queues/orders/messages/") == 50 and "next page" in first
        after = re.search(r'href="(/ui/queues/orders\?after=[^"]+)"', first)
        assert after
        second = (await client.get(after.group(1).replace("&amp;", "&"))).text
        assert second.count("/ui/queues/orders/messages/") == 50
        found = (await client.get("/ui/queues/orders", params={"q": "acme"})).text
        assert found.count("/ui/queues/orders/messages/") == 1 and tagged in found
        by_id = (await client.get("/ui/queues/orders", params={"q": tagged})).text
        assert by_id.count("/ui/queues/orders/messages/") == 1
        assert (await client.get("/ui/queues/orders", params={"after": "x"})).status_code == 400


async def test_writes_need_csrf_confirmation_and_are_audited(store_url: str) -> None:
    app = make_app(store_url)
    async with serving(app, webhooks=False) as client:
        orders = await app.get_queue("orders")
        await orders.send("keep me")
        no_token = await client.post("/ui/queues/orders/purge", data={"confirm": "orders"})
        assert no_token.status_code == 403
        token = csrf_of((await client.get("/ui/queues/orders")).text)
        foreign = await client.post(
            "/ui/queues/orders/purge",
            headers={"origin": "http://evil"},
            data={"csrf": token, "confirm": "orders"},
        )
        assert foreign.status_code == 403
        wrong = await client.post("/ui/queues/orders/purge", data={"csrf": token, "confirm": "x"})
        assert wrong.status_code == 400 and (await orders.stats()).visible == 1
        sent = await _post(client, "/ui/queues/orders", "/ui/queues/orders/send", body="{}")
        assert sent.status_code == 303 and (await orders.stats()).visible == 2
        ok = await _post(client, "/ui/queues/orders", "/ui/queues/orders/purge", confirm="orders")
        assert ok.status_code == 303 and (await orders.stats()).total == 0
        audit = (await client.get("/ui/audit")).text
        assert "purge" in audit and "send" in audit and "127.0.0.1" in audit


async def test_dlq_redrive_moves_messages_and_reports_over_sse(store_url: str) -> None:
    app = make_app(store_url)
    async with serving(app, webhooks=False) as client:
        await dead_letter(app, "failed order", count=3)
        dlq = await app.get_queue("orders-dlq")
        assert (await dlq.stats()).visible == 3
        page = (await client.get("/ui/queues/orders-dlq")).text
        assert "Dead-letter queue orders-dlq" in page and "Sources: orders" in page
        r = await _post(client, "/ui/queues/orders-dlq", "/ui/queues/orders-dlq/redrive", rate="50")
        assert r.status_code == 303
        async with client.stream("GET", "/ui/queues/orders-dlq/redrive/events") as events:
            last = {}
            async for line in events.aiter_lines():
                if line.startswith("data: "):
                    last = json.loads(line[6:])
        assert last["state"] == "COMPLETED" and last["moved"] == 3 and last["rate"] == 50
        assert (await dlq.stats()).total == 0
        assert (await (await app.get_queue("orders")).stats()).visible == 3
        dlq_page = "/ui/queues/orders-dlq"
        bad = await _post(client, dlq_page, f"{dlq_page}/redrive", rate="x")
        assert bad.status_code == 400


async def _failed_execution(app: App) -> str:
    arn = await app.start_execution("Checkout", {"fail": True})
    assert (await settled(app, arn)).status == "FAILED"
    return arn


async def test_failed_execution_graph_highlights_the_failed_state(store_url: str) -> None:
    app = make_app(store_url)
    async with serving(app, webhooks=False) as client:
        arn = await _failed_execution(app)
        ok = await app.start_execution("Checkout", {"fail": False})
        await settled(app, ok)
        listed = (await client.get("/ui/machines", params={"status": "FAILED"})).text
        assert listed.count("/ui/executions/") == 1
        html = (await client.get(f"/ui/executions/{arn}")).text
        assert 'data-state="Charge" data-status="failed"' in html
        assert 'data-state="Prepare" data-status="succeeded"' in html
        assert 'data-state="Done" data-status="not reached"' in html
        assert "TaskStateEntered" in html and "ConnectionError" in html
        assert "/redrive" in html
        assert (await client.get("/ui/machines", params={"status": "NOPE"})).status_code == 400
        assert (await client.get("/ui/executions/arn:nope")).status_code == 404


async def test_stop_and_redrive_executions_from_their_pages(store_url: str) -> None:
    app = make_app(store_url)
    async with serving(app, webhooks=False) as client:
        slow = await app.start_execution("Slow", {})
        page = f"/ui/executions/{slow}"
        for _ in range(500):  # until the first step ran
            if 'data-state="Nap" data-status="running"' in (await client.get(page)).text:
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("the Wait state never showed as running")
        stopped = await _post(client, page, f"{page}/stop")
        assert stopped.status_code == 303
        assert (await app.describe_execution(slow)).status == "ABORTED"
        arn = await _failed_execution(app)
        page = f"/ui/executions/{arn}"
        assert (await _post(client, page, f"{page}/redrive")).status_code == 303
        assert (await settled(app, arn)).redrive_count == 1
        audit = (await client.get("/ui/audit")).text
        assert "stop execution" in audit and "redrive execution" in audit


async def test_breaker_force_open_and_closed(store_url: str) -> None:
    app = make_app(store_url)
    async with serving(app, webhooks=False) as client:
        r = await _post(client, "/ui/breakers", "/ui/breakers/payments/force", state="open")
        assert r.status_code == 303
        assert '<span class="state-open">open</span>' in (await client.get("/ui/breakers")).text
        assert (await app.breakers.get("payments").refresh()).state.value == "open"
        await _post(client, "/ui/breakers", "/ui/breakers/payments/force", state="closed")
        assert (await app.breakers.get("payments").refresh()).state.value == "closed"
        # The app consumes, so its alarm loop merges the transitions it saw each second.
        for _ in range(100):
            page = (await client.get("/ui/breakers")).text
            if "open → closed" in page:
                break
            await asyncio.sleep(0.05)
        newest = page.index("open → closed")
        assert "closed → open" in page[newest:] and "forced open by dashboard" in page
        bad = await _post(client, "/ui/breakers", "/ui/breakers/payments/force", state="ajar")
        assert bad.status_code == 400
        missing = await _post(client, "/ui/breakers", "/ui/breakers/nope/force", state="open")
        assert missing.status_code == 400


async def test_bus_pattern_tester(store_url: str) -> None:
    app = make_app(store_url)
    async with serving(app, webhooks=False) as client:
        page = (await client.get("/ui/buses")).text
        assert "shop-orders" in page and "orders" in page
        event = json.dumps({"source": "shop", "detail-type": "x", "detail": {"n": XSS}})
        hit = (await _post(client, "/ui/buses", "/ui/buses/default/test", event=event)).text
        assert "matching rules: <b>shop-orders</b>" in hit and XSS not in hit
        other = json.dumps({"source": "crm", "detail-type": "x", "detail": {}})
        miss = (await _post(client, "/ui/buses", "/ui/buses/default/test", event=other)).text
        assert "matching rules: <b>none</b>" in miss
        bad = await _post(client, "/ui/buses", "/ui/buses/default/test", event="{")
        assert bad.status_code == 400


async def test_admin_token_guards_every_page(store_url: str, monkeypatch: object) -> None:
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.setenv("STORMPROOF_ADMIN_TOKEN", "s3cret")
    app = make_app(store_url)
    async with serving(app, webhooks=False) as client:
        assert (await client.get("/ui/")).status_code == 403
        assert (await client.get("/ui/api/overview")).status_code == 403
        auth = {"authorization": "Bearer s3cret"}
        assert (await client.get("/ui/", headers=auth)).status_code == 200
        login = await client.post("/ui/login", data={"token": "s3cret"}, follow_redirects=False)
        assert login.status_code == 303
        assert (await client.get("/ui/")).status_code == 200  # the cookie
        await asyncio.sleep(0)
