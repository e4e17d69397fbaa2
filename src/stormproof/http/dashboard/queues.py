"""The queue page (messages paged server-side and searchable, one message, send a test
message, purge with confirmation) and, for a dead-letter queue, redrive with a rate,
its progress live over SSE, and cancel."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from stormproof.errors import InvalidAttribute
from stormproof.http.dashboard.alarms import dlq_failures, message_failure
from stormproof.http.dashboard.guard import Guard
from stormproof.http.dashboard.html import age, esc, field, form, link, page, pretty, table, url
from stormproof.http.dashboard.overview import dead_letter_sources, sse
from stormproof.http.dashboard.selection import selectable_table
from stormproof.storage import browse_ops

if TYPE_CHECKING:
    from stormproof.app import App

PAGE = 50


async def queue_page(app: App, guard: Guard, request: Request) -> Response:
    """One queue: counts, a page of messages, send and purge; redrive for a DLQ."""
    name = request.path_params["name"]
    queue = await app.get_queue(name)
    stats = await queue.stats()
    after_text = request.query_params.get("after", "0") or "0"
    if not after_text.isdigit():
        raise InvalidAttribute("after", after_text, "a row id (a whole number >= 0)")
    after = int(after_text)
    search = request.query_params.get("q", "")
    read = functools.partial(browse_ops.page, name, after, PAGE, search)
    messages = await app.store.run(read)
    rows = [
        [
            link(url("queues", name, "messages", m.message_id), m.message_id),
            esc(m.receive_count),
            "in flight" if m.in_flight else "waiting",
            f"<code>{esc(m.body[:80])}</code>",
        ]
        for m in messages
    ]
    more = ""
    if len(messages) == PAGE:
        query = urlencode({"after": messages[-1].row_id, "q": search})
        more = link(url("queues", name) + "?" + query, "next page")
    counts = (
        f"<p>visible <b>{stats.visible}</b> · in flight <b>{stats.in_flight}</b> · "
        f"delayed <b>{stats.delayed}</b> · "
        f"oldest <b>{age(stats.oldest_age)}</b></p>"
    )
    sources = (await dead_letter_sources(app)).get(name)
    redrive = await _redrive_section(app, guard, name, sources) if sources else ""
    if sources:
        redrive += await dlq_failures(app, name)
    plain = ["message id", "receives", "state", "body"]
    listing = selectable_table(name, guard, rows, messages) if sources else table(plain, rows)
    box = field("q", "Message id or attribute", value=search)
    searchbox = f'<form method="get" role="search">{box}<button>Search</button></form>'
    body = f"{counts}{redrive}<h2>Messages</h2>{searchbox}{listing}{more}{_actions(guard, name)}"
    return page(("Dead-letter queue " if sources else "Queue ") + name, body)


def _actions(guard: Guard, name: str) -> str:
    """The send-a-test-message and purge forms of queue ``name``."""
    send = form(
        url("queues", name, "send"),
        guard.csrf,
        '<label for="f-body">Body</label><textarea id="f-body" name="body" rows="3">'
        '{"test": true}</textarea>',
        "Send test message",
    )
    purge = form(
        url("queues", name, "purge"),
        guard.csrf,
        field("confirm", f"Type {name} to confirm", extra=' required autocomplete="off"'),
        "Purge",
        confirm=f"Delete every message of {name}?",
    )
    return (
        f'<div class="actions"><section><h2>Send</h2>{send}</section>'
        f"<section><h2>Purge</h2>{purge}</section></div>"
    )


async def _redrive_section(app: App, guard: Guard, name: str, sources: list[str]) -> str:
    loaded = await app.redrives.load(name)
    status = loaded[1] if loaded else None
    progress = "no redrive yet"
    if status is not None:
        progress = f"{status.state}: moved {status.moved} of {status.to_move}"
    start = form(
        url("queues", name, "redrive"),
        guard.csrf,
        field("destination", "Destination (empty: back to the source)")
        + field(
            "rate",
            "Messages per second (empty: as fast as possible)",
            kind="number",
            extra=' min="1"',
        ),
        "Redrive",
        confirm=f"Redrive the messages of {name}?",
    )
    cancel = form(url("queues", name, "redrive", "cancel"), guard.csrf, "", "Cancel redrive")
    return (
        f'<section class="dlq"><h2>Redrive</h2><p>Sources: {esc(", ".join(sources))}</p>'
        f'<p id="redrive-progress" aria-live="polite" '
        f'data-sse="{esc(url("queues", name, "redrive", "events"))}" '
        f'data-target="redrive-progress">{esc(progress)}</p>'
        f"{start}{cancel}</section>"
    )


async def message_page(app: App, request: Request) -> Response:
    """One message: body, attributes, receive count, times."""
    name, message_id = request.path_params["name"], request.path_params["id"]
    found = await app.store.run(functools.partial(browse_ops.one, name, message_id))
    if found is None:
        return page(
            "Message not found", f"<p>{esc(message_id)} is not in {esc(name)}.</p>", status=404
        )
    facts = [
        ["queue", link(url("queues", name), name)],
        ["receive count", esc(found.receive_count)],
        ["state", "in flight" if found.in_flight else "waiting"],
        ["group", esc(found.group_id)],
        ["moved from", esc(found.source_queue)],
    ]
    body = (
        f"{table(['field', 'value'], facts)}<h2>Body</h2>{pretty(found.body)}"
        f"<h2>Attributes</h2>{pretty(found.attributes)}"
        f"{await message_failure(app, name, message_id)}"
    )
    return page(f"Message {message_id}", body)


async def send(app: App, guard: Guard, request: Request) -> Response:
    """Send a test message (the body as typed)."""
    name = request.path_params["name"]
    data = await guard.write_form(request)
    await guard.record(request, "send", name)
    await (await app.get_queue(name)).send(str(data.get("body", "")))
    return RedirectResponse(url("queues", name), 303)


async def purge(app: App, guard: Guard, request: Request) -> Response:
    """Purge after the queue's name was typed as confirmation."""
    name = request.path_params["name"]
    data = await guard.write_form(request)
    if data.get("confirm") != name:
        raise InvalidAttribute("confirm", data.get("confirm"), f"the queue's name, {name!r}")
    await guard.record(request, "purge", name)
    await (await app.get_queue(name)).purge()
    return RedirectResponse(url("queues", name), 303)


async def redrive(app: App, guard: Guard, request: Request) -> Response:
    """Start a redrive of this DLQ (to its sources or a destination, at a rate)."""
    name = request.path_params["name"]
    data = await guard.write_form(request)
    rate_text = str(data.get("rate", "")).strip()
    if rate_text and not rate_text.isdigit():
        raise InvalidAttribute("rate", rate_text, "a whole number of messages per second >= 1")
    destination = str(data.get("destination", "")).strip() or None
    await guard.record(request, "redrive", f"{name} -> {destination or 'sources'}")
    await (await app.get_queue(name)).start_redrive(
        destination, int(rate_text) if rate_text else None
    )
    return RedirectResponse(url("queues", name), 303)


async def cancel(app: App, guard: Guard, request: Request) -> Response:
    """Cancel this DLQ's running redrive."""
    name = request.path_params["name"]
    await guard.write_form(request)
    await guard.record(request, "cancel redrive", name)
    await app.redrives.cancel(name)
    return RedirectResponse(url("queues", name), 303)


async def redrive_events(app: App, request: Request) -> Response:
    """The redrive's status as SSE, twice a second, until it ends or the page closes."""
    name = request.path_params["name"]

    async def stream() -> AsyncIterator[str]:
        while not await request.is_disconnected():
            loaded = await app.redrives.load(name)
            if loaded is None:
                yield sse(json.dumps({"state": "NONE"}), "status")
            else:
                status = loaded[1]
                yield sse(json.dumps(asdict(status)), "status")
                if status.state not in ("RUNNING", "CANCELLING"):
                    return
            await asyncio.sleep(0.5)

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"cache-control": "no-store"}
    )
