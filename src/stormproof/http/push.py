"""``/requests/ws``: a WebSocket on which a client follows several of its requests.

The client sends ``{"subscribe": ["req_...", ...]}`` (any number of times, at most
:data:`MAX_SUBSCRIPTIONS` ids in all); the server sends each request's status body
(``GET /requests/{id}``'s) at once and again whenever its state changes, and
``{"request_id", "error": "not-found"}`` for an unknown id. A request id is a 128-bit
random capability: knowing it is what entitles a client to follow it. Like the SSE stream
it reads the store (every ``POLL`` seconds), so it sees work done in any process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from stormproof.errors import RequestNotFound
from stormproof.gateway.frontdoor import FrontDoor
from stormproof.storage.request_ops import FINAL, is_request_id

POLL = 0.5
MAX_SUBSCRIPTIONS = 100


async def request_push(door: FrontDoor, socket: WebSocket) -> None:
    """Serve one WebSocket until the client goes."""
    await socket.accept()
    seen: dict[str, str | None] = {}  # request id -> last state sent
    changed = asyncio.Event()
    reader = asyncio.create_task(_read(socket, seen, changed))
    try:
        while not reader.done():
            for request_id in [r for r, s in seen.items() if s not in FINAL]:
                await _send_if_changed(door, socket, seen, request_id)
            changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), POLL)
    except WebSocketDisconnect:
        pass
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
            await reader


async def _read(socket: WebSocket, seen: dict[str, str | None], changed: asyncio.Event) -> None:
    while True:
        try:
            message: Any = json.loads(await socket.receive_text())
        except WebSocketDisconnect:
            return
        except ValueError:
            await socket.send_json({"error": "bad-message", "detail": "send JSON"})
            continue
        ids = message.get("subscribe") if isinstance(message, dict) else None
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            await socket.send_json(
                {"error": "bad-message", "detail": 'send {"subscribe": ["req_...", ...]}'}
            )
            continue
        for request_id in ids:
            if len(seen) >= MAX_SUBSCRIPTIONS and request_id not in seen:
                await socket.send_json({"request_id": request_id, "error": "too-many"})
                continue
            seen.setdefault(request_id, None)
        changed.set()


async def _send_if_changed(
    door: FrontDoor, socket: WebSocket, seen: dict[str, str | None], request_id: str
) -> None:
    try:
        if not is_request_id(request_id):
            raise RequestNotFound(f"no request {request_id!r}", request_id=request_id)
        body = (await door.status(request_id)).body
    except RequestNotFound:
        seen[request_id] = "failed"  # final for this socket: never polled again
        await socket.send_json({"request_id": request_id, "error": "not-found"})
        return
    if body["state"] != seen[request_id]:
        seen[request_id] = str(body["state"])
        await socket.send_json(body)
