"""Signed webhooks delivered to a real loopback receiver; retries; the webhook DLQ."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from stormproof.errors import WebhookVerificationError
from stormproof.storage.request_ops import WEBHOOK_DLQ
from stormproof.webhooks import new_secret, sign, verify
from stormproof.worker import Worker
from tests.http import frontdoor_app as fa
from tests.http.server import serving


class Receiver:
    """Answers the scripted statuses in turn (then 200) and keeps every delivery."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.seen: list[tuple[dict[str, str], bytes, int]] = []

    async def hook(self, request: Request) -> Response:
        status = self.statuses.pop(0) if self.statuses else 200
        self.seen.append((dict(request.headers), await request.body(), status))
        return Response(status_code=status)


@contextlib.asynccontextmanager
async def receiving(receiver: Receiver) -> AsyncIterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    app = Starlette(routes=[Route("/hook", receiver.hook, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def _until(check: Any) -> None:
    for _ in range(500):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition never held")


async def test_webhook_is_signed_retried_and_delivered_once(store_url: str) -> None:
    fa.app.store_url = store_url
    receiver = Receiver([503, 503])
    async with receiving(receiver) as url, serving(fa.app) as client:
        r = await client.post("/orders", json={"qty": 2, "callback_url": url})
        request_id = r.json()["request_id"]
        worker = Worker(fa.app, concurrency=2)
        task = asyncio.create_task(worker.run())
        try:
            await _until(lambda: any(s == 200 for *_, s in receiver.seen))
        finally:
            worker.stop()
            await task
    assert [s for *_, s in receiver.seen] == [503, 503, 200]
    ids = {h["webhook-id"] for h, _, _ in receiver.seen}
    assert len(ids) == 1  # one id across retries: the receiver de-duplicates by it
    headers, body, _ = receiver.seen[-1]
    event = verify(fa.SECRET, headers, body)
    assert event["type"] == "request.succeeded"
    assert event["data"]["request_id"] == request_id
    assert event["data"]["result"] == {"total": 20}


async def test_a_4xx_dead_letters_the_delivery_with_its_last_status(store_url: str) -> None:
    fa.app.store_url = store_url
    receiver = Receiver([400])
    async with receiving(receiver) as url, serving(fa.app) as client:
        await client.post("/orders", json={"qty": 1, "callback_url": url})
        worker = Worker(fa.app, concurrency=2)
        task = asyncio.create_task(worker.run())
        try:
            dlq = await fa.app.get_queue(WEBHOOK_DLQ)
            await _until(lambda: receiver.seen)
            for _ in range(200):
                if (await dlq.stats()).visible:
                    break
                await asyncio.sleep(0.02)
            [message] = await dlq.receive()
        finally:
            worker.stop()
            await task
    record = json.loads(message.body)
    assert record["last_status"] == 400 and record["attempts"] == 1
    assert len(receiver.seen) == 1


def test_verify_rejects_stale_forged_and_accepts_rotated_secrets() -> None:
    old, new = new_secret(), new_secret()
    body = b'{"a":1}'
    headers = sign([old, new], "msg_1", body, timestamp=1_000_000)
    assert verify(new, headers, body, now=1_000_100) == {"a": 1}
    assert verify([new_secret(), old], headers, body, now=1_000_100) == {"a": 1}
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        verify(new, headers, body, now=1_000_000 + 301)
    with pytest.raises(WebhookVerificationError, match="no signature"):
        verify(new_secret(), headers, body, now=1_000_000)
    with pytest.raises(WebhookVerificationError, match="no signature"):
        verify(new, headers, b'{"a":2}', now=1_000_000)
    with pytest.raises(WebhookVerificationError, match="missing"):
        verify(new, {}, body)


async def test_open_breaker_holds_webhook_deliveries_in_the_queue(store_url: str) -> None:
    """One 503 trips the breaker: the 0.2 s retries wait for its 1 s open time (no attempt
    counted), then the probe delivers, with the same webhook id."""
    fa.app.store_url = store_url
    breaker = fa.app.breaker("webhooks", consecutive_failures=1, open_for=1, scope="process")
    fa.app.api.settings.webhook_breaker = breaker
    receiver = Receiver([503])
    times: list[float] = []
    original = receiver.hook

    async def timed(request: Request) -> Response:
        times.append(asyncio.get_running_loop().time())
        return await original(request)

    receiver.hook = timed  # type: ignore[method-assign]
    try:
        async with receiving(receiver) as url, serving(fa.app) as client:
            await client.post("/orders", json={"qty": 2, "callback_url": url})
            worker = Worker(fa.app, concurrency=2)
            task = asyncio.create_task(worker.run())
            try:
                await _until(lambda: any(s == 200 for *_, s in receiver.seen))
            finally:
                worker.stop()
                await task
    finally:
        fa.app.api.settings.webhook_breaker = None
        fa.app.breakers.breakers.pop("webhooks", None)
    assert [s for *_, s in receiver.seen] == [503, 200]
    assert times[1] - times[0] >= 0.9  # waited for the breaker, not the 0.2 s schedule
    assert len({h["webhook-id"] for h, _, _ in receiver.seen}) == 1
