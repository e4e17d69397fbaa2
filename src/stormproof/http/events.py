"""``GET /requests/{id}/events``: a request's state changes as Server-Sent Events.

Fed from the store, so it sees work done in any process: the stream re-reads the record
every ``POLL`` seconds (LISTEN/NOTIFY-driven push is not wired yet) and sends an event
whenever the state changed. ``Last-Event-ID`` (the
state last seen) skips states the client already has. The stream ends at a final state.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from stormproof.gateway.frontdoor import FrontDoor
from stormproof.storage.request_ops import FINAL

POLL = 0.5


async def request_events(door: FrontDoor, request: Request) -> Response:
    """The SSE response (404 problem first if the request does not exist)."""
    request_id = request.path_params["id"]
    first = await door.status(request_id)
    seen = request.headers.get("last-event-id")

    async def stream() -> AsyncIterator[str]:
        nonlocal seen
        answer = first
        while True:
            state = str(answer.body["state"])
            if state != seen:
                seen = state
                yield f"id: {state}\nevent: state\ndata: {json.dumps(answer.body)}\n\n"
            if state in FINAL or await request.is_disconnected():
                return
            await door.app.clock.sleep(POLL)
            answer = await door.status(request_id)

    return StreamingResponse(stream(), media_type="text/event-stream")
