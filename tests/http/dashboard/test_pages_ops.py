"""Dashboard pages for operations beyond queues: a bus's archives and replays (started and
cancelled from the page), streams with their mappings' checkpoints, and one front-door
request followed through its hops. Real HTTP on loopback, both stores."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from stormproof.functions.stream_consumer import StreamConsumer
from tests.http.dashboard.demo import CHECKOUT, charge, dead_letter, make_app, settled
from tests.http.dashboard.test_pages import XSS, _post, csrf_of
from tests.http.server import serving


async def test_bus_page_shows_archives_and_starts_a_replay(store_url: str) -> None:
    app = make_app(store_url)
    app.bus().archive("everything", retention=86400)
    async with serving(app, webhooks=False) as client:
        entries = [{"source": "shop", "detail_type": "x", "detail": {"n": n}} for n in range(3)]
        assert (await app.bus().put_events(entries)).failed_entry_count == 0
        page = (await client.get("/ui/buses")).text
        assert re.search(r"<td>everything</td><td>every event</td><td>24h00m</td><td>3</td>", page)
        started = await _post(
            client,
            "/ui/buses",
            "/ui/buses/default/replays",
            archive="everything",
            start="2000-01-01T00:00:00",
            end="",
            name="again-1",
        )
        assert started.status_code == 303, started.text
        status = await app.buses.replays.list()
        replay = next(r for r in status if r.name == "again-1")
        for _ in range(500):
            if replay.state == "COMPLETED":
                break
            await asyncio.sleep(0.02)
            replay = next(r for r in await app.buses.replays.list() if r.name == "again-1")
        assert (replay.state, replay.total, replay.replayed) == ("COMPLETED", 3, 3)
        again = (await client.get("/ui/buses")).text
        assert "again-1" in again and "3 / 3" in again and "COMPLETED" in again
        bad = await _post(
            client,
            "/ui/buses",
            "/ui/buses/default/replays",
            archive="everything",
            start="yesterday",
            end="",
            name="",
        )
        assert bad.status_code == 400 and "ISO 8601" in bad.text
        audit = (await client.get("/ui/audit")).text
        assert "start replay" in audit


async def test_streams_page_shows_checkpoints_and_lag(store_url: str) -> None:
    app = make_app(store_url)
    clicks = app.stream("clicks", shards=2)
    seen: list[str] = []

    @app.function(timeout=5)
    async def count(event: dict[str, Any], context: Any) -> None:
        seen.extend(r["eventID"] for r in event["Records"])

    mapping = app.consume(clicks, count, batch_size=100)
    async with serving(app, webhooks=False) as client:
        await clicks.put_records([{"data": str(i), "partition_key": f"k{i}"} for i in range(20)])
        consumer = StreamConsumer(app, mapping)
        while await consumer.poll_once():
            pass
        assert len(seen) == 20
        await clicks.put_record(XSS, "late")
        page = (await client.get("/ui/streams")).text
        assert "Stream clicks" in page and "shardId-000000000000" in page
        assert page.count("<td>clicks-&gt;") == 2  # one row per shard
        lags = re.findall(r"<td>shardId-00000000000\d</td><td>\d+</td><td>(\d+)</td>", page)
        assert sorted(lags) == ["0", "1"]  # the late record waits on one shard
        assert XSS not in page
        overview = (await client.get("/ui/")).text.split('id="h-s"')[1]
        assert '<a href="/ui/streams#s-clicks">clicks</a></td><td>clicks-&gt;count' in overview
        assert re.search(r"</td><td>\d+\.\ds</td></tr>", overview)  # its iterator age


async def test_request_page_follows_a_request_to_its_execution(store_url: str) -> None:
    app = make_app(store_url)
    machine = app.state_machine("Checkout2", CHECKOUT, resources={"charge": charge})
    app.api.post("/checkout", to=machine)
    async with serving(app, webhooks=False) as client:
        accepted = await client.post("/checkout", json={"fail": True})
        assert accepted.status_code == 202
        request_id = accepted.json()["request_id"]
        info = await settled(app, (await _execution_of(app, request_id)))
        assert info.status == "FAILED"
        found = await client.get("/ui/requests", params={"id": request_id}, follow_redirects=True)
        assert found.status_code == 200 and f"Request {request_id}" in found.text
        page = found.text
        assert "POST /checkout" in page and 'href="/ui/executions/' in page and "FAILED" in page
        assert (await client.get("/ui/requests", params={"id": "nope"})).status_code == 400
        missing = await client.get("/ui/requests/req_" + "0" * 32)
        assert missing.status_code == 404


async def _execution_of(app: Any, request_id: str) -> str:
    from stormproof.storage.request_ops import RequestRecord, key_of

    stored = await app.store.get_state(key_of(request_id))
    return str(RequestRecord.from_json(stored.value).target["execution_arn"])


async def test_dlq_page_redrives_only_the_selected_messages(store_url: str) -> None:
    app = make_app(store_url)
    async with serving(app, webhooks=False) as client:
        await dead_letter(app, "first", count=3)
        dlq = await app.get_queue("orders-dlq")
        assert (await dlq.stats()).visible == 3
        page = (await client.get("/ui/queues/orders-dlq")).text
        ids = re.findall(r'name="m:([^"]+)"', page)
        assert len(ids) == 3 and "Redrive selected" in page
        token = csrf_of(page)
        moved = await client.post(
            "/ui/queues/orders-dlq/move", data={"csrf": token, f"m:{ids[0]}": "on"}
        )
        assert moved.status_code == 303
        assert (await dlq.stats()).visible == 2
        back = await (await app.get_queue("orders")).receive(10)
        assert len(back) == 1 and back[0].attributes["stormproof.OriginalMessageId"] == ids[0]
        none = await client.post("/ui/queues/orders-dlq/move", data={"csrf": token})
        assert none.status_code == 400 and "at least one message" in none.text
        elsewhere = await client.post(
            "/ui/queues/orders-dlq/move",
            data={"csrf": token, f"m:{ids[1]}": "on", "destination": "nowhere"},
        )
        assert elsewhere.status_code == 404 and (await dlq.stats()).visible == 2
        assert "redrive 1 selected" in (await client.get("/ui/audit")).text


async def test_execution_page_lists_a_distributed_map_runs_children(store_url: str) -> None:
    from tests.runtime.machines.test_map_runs import distributed, work_state

    app = make_app(store_url)
    app.state_machine("Fan", distributed(work_state(), "Work"), resources={"work": lambda v: v})
    async with serving(app, webhooks=False) as client:
        arn = await app.start_execution("Fan", list(range(5)))
        assert (await settled(app, arn)).status == "SUCCEEDED"
        page = (await client.get(f"/ui/executions/{arn}")).text
        assert "Map run" in page and "succeeded <b>5</b>" in page
        children = re.findall(r'href="(/ui/executions/[^"]+)"', page)
        assert len(children) == 5
        child = (await client.get(children[0].replace("&#x27;", "'"))).text
        assert "map run" in child


async def test_request_page_links_its_trace(store_url: str, monkeypatch: Any) -> None:
    monkeypatch.setenv("STORMPROOF_TRACE_URL", "https://traces.example/trace/{trace_id}")
    app = make_app(store_url)
    q = app.queues._declared["orders"]
    app.api.post("/orders", to=q)
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    async with serving(app, webhooks=False) as client:
        header = {"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"}
        accepted = await client.post("/orders", json={"n": 1}, headers=header)
        untraced = await client.post("/orders", json={"n": 2})
        page = (await client.get(f"/ui/requests/{accepted.json()['request_id']}")).text
        assert f'<a href="https://traces.example/trace/{trace_id}"><code>{trace_id}</code>' in page
        plain = (await client.get(f"/ui/requests/{untraced.json()['request_id']}")).text
        assert "none (no traceparent header and tracing off)" in plain
