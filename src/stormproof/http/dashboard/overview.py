"""The overview: queues (paged), DLQs highlighted when non-empty, functions, breakers,
state machines; ``/ui/api/overview`` is the same as JSON, ``/ui/events/overview`` pushes
the queue rows over Server-Sent Events."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from stormproof.http.dashboard.alarms import firing_cells, firing_section
from stormproof.http.dashboard.functions import function_stats, queue_sparks
from stormproof.http.dashboard.html import age, esc, link, page, rows_html, table, url
from stormproof.http.dashboard.streams import stream_summary
from stormproof.storage import browse_ops

if TYPE_CHECKING:
    from stormproof.app import App

PAGE = 100
STREAM_ROUNDS = 30  # one overview stream lasts about 30 s
INTERNAL = ("_bus-", "_fn-", "_sfn-")
SPARK = "consumed (5 min)"
FUNCTION_HEADERS = [
    "function",
    "invocations (15 min)",
    "error rate",
    "slots leased",
    "reserved concurrency",
    "timeout (s)",
]


async def dead_letter_sources(app: App) -> dict[str, list[str]]:
    """For each DLQ, the queues whose redrive policy points at it."""
    out: dict[str, list[str]] = {}
    for stored in await app.store.list_queues():
        if stored.attributes.dead_letter:
            out.setdefault(stored.attributes.dead_letter, []).append(stored.name)
    return out


async def queue_rows(app: App, after: str = "", show_all: bool = False) -> list[dict[str, Any]]:
    """One page of queues (names after ``after``) with their counts."""
    names = sorted(n for n in await app.list_queues() if show_all or not n.startswith(INTERNAL))
    return await _counted(app, [n for n in names if n > after][:PAGE])


async def dlq_rows(app: App) -> list[dict[str, Any]]:
    """Every dead-letter queue with its counts (shown first, whatever the paging)."""
    return await _counted(app, sorted(await dead_letter_sources(app))[:PAGE])


async def _counted(app: App, names: list[str]) -> list[dict[str, Any]]:
    if not names:
        return []
    dlqs = await dead_letter_sources(app)
    read = functools.partial(browse_ops.counts_between, names[0], names[-1])
    counts = await app.store.run(read)
    sparks = await queue_sparks(app)
    rows = []
    for name in names:
        row = {
            "name": name,
            "dlq": name in dlqs,
            "visible": 0,
            "in_flight": 0,
            "delayed": 0,
            "oldest_age": None,
            "spark": sparks.get(name, ""),
        }
        c = counts.get(name)
        if c is not None:
            row.update(visible=c.visible, in_flight=c.in_flight, delayed=c.delayed)
            if c.oldest_enqueued_at is not None:
                row["oldest_age"] = max(0.0, c.now - c.oldest_enqueued_at)
        rows.append(row)
    return rows


def queue_cells(rows: list[dict[str, Any]]) -> list[list[str]]:
    """Table cells; a non-empty DLQ's row is highlighted."""
    out = []
    for r in rows:
        cls = "class:alert" if r["dlq"] and r["visible"] + r["in_flight"] + r["delayed"] else ""
        kind = "DLQ" if r["dlq"] else "queue"
        cells = [
            link(url("queues", r["name"]), r["name"]),
            kind,
            esc(r["visible"]),
            esc(r["in_flight"]),
            esc(r["delayed"]),
            esc(age(r["oldest_age"])),
            r["spark"],
        ]
        out.append([cls, *cells] if cls else cells)
    return out


async def function_rows(app: App) -> list[list[str]]:
    """Declared functions: invocations and error rate of the last 15 minutes, slots leased
    now (every process) of the reserved concurrency."""
    return [
        [
            link(url("functions"), s["name"]),
            esc(s["invocations"]),
            esc(s["error_rate"]),
            esc(s["leased"] if s["reserved"] else "–"),
            esc(s["reserved"] if s["reserved"] is not None else "unreserved"),
            esc(s["timeout"]),
        ]
        for s in await function_stats(app)
    ]


async def breaker_rows(app: App) -> list[dict[str, Any]]:
    """Declared breakers with their shared state."""
    out = []
    for b in app.breakers.breakers.values():
        state = await b.refresh()
        out.append(
            {
                "name": b.name,
                "state": state.state.value,
                "trips": state.trips,
                "calls": state.calls,
                "reason": state.reason,
            }
        )
    return out


async def overview(app: App, request: Request) -> Response:
    """The overview page."""
    after = request.query_params.get("after", "")
    rows = await queue_rows(app, after)
    more = ""
    if len(rows) == PAGE:
        more = link(url("") + "?" + urlencode({"after": rows[-1]["name"]}), "next page")
    queues = table(
        ["queue", "kind", "visible", "in flight", "delayed", "oldest age", SPARK],
        queue_cells(rows),
        body_id="queue-rows",
    )
    dead = table(
        ["dead-letter queue", "kind", "visible", "in flight", "delayed", "oldest age", SPARK],
        queue_cells(await dlq_rows(app)),
        body_id="dlq-rows",
    )
    live = esc("/ui/events/overview" + ("?" + urlencode({"after": after}) if after else ""))
    body = (
        f'<div data-sse="{live}" data-target="dlq-rows queue-rows alarm-rows">'
        + await firing_section(app)
        + f'<section aria-labelledby="h-d"><h2 id="h-d">Dead-letter queues</h2>{dead}</section>'
        f'<section aria-labelledby="h-q"><h2 id="h-q">Queues</h2>{queues}{more}</section></div>'
    )
    return page("Overview", body + await _summaries(app))


async def _summaries(app: App) -> str:
    """The functions, breakers, streams and machines sections (not refreshed live)."""
    fns = await function_rows(app)
    breakers = [
        [
            link(url("breakers") + "#b-" + b["name"], b["name"]),
            f'<span class="state-{esc(b["state"])}">{esc(b["state"])}</span>',
            esc(b["trips"]),
        ]
        for b in await breaker_rows(app)
    ]
    machines = [
        [link(url("machines") + f"?machine={m.name}", m.name), esc(m.type)]
        for m in app.machines.machines
    ]
    return (
        f'<section aria-labelledby="h-f"><h2 id="h-f">Functions</h2>'
        f"{table(FUNCTION_HEADERS, fns)}"
        f'</section><section aria-labelledby="h-b"><h2 id="h-b">Breakers</h2>'
        f"{table(['breaker', 'state', 'trips'], breakers)}</section>"
        f'<section aria-labelledby="h-s"><h2 id="h-s">Streams</h2>'
        f"{table(['stream', 'mappings', 'iterator age (worst shard)'], await stream_summary(app))}"
        "</section>"
        f'<section aria-labelledby="h-m"><h2 id="h-m">State machines</h2>'
        f"{table(['state machine', 'type'], machines)}</section>"
    )


async def overview_json(app: App, request: Request) -> Response:
    """The overview's data as JSON."""
    rows = await queue_rows(app, request.query_params.get("after", ""))
    return JSONResponse(
        {
            "queues": rows,
            "breakers": await breaker_rows(app),
            "functions": [f.name for f in app.functions],
        }
    )


def sse(data: str, event: str = "message") -> str:
    """One Server-Sent Event (multi-line data split over ``data:`` lines)."""
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"event: {event}\n{lines}\n"


async def overview_events(app: App, request: Request) -> Response:
    """The overview's queue rows, re-rendered every second while the page is open."""
    after = request.query_params.get("after", "")

    async def stream() -> AsyncIterator[str]:
        # A bounded stream (the browser reconnects after ``retry`` ms), so an open tab
        # never holds a server's graceful shutdown for long.
        yield "retry: 1000\n\n"
        for _ in range(STREAM_ROUNDS):
            if await request.is_disconnected():
                return
            yield sse(rows_html(queue_cells(await dlq_rows(app))), "dlq-rows")
            yield sse(rows_html(await firing_cells(app)), "alarm-rows")
            yield sse(rows_html(queue_cells(await queue_rows(app, after))), "queue-rows")
            await asyncio.sleep(1.0)

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"cache-control": "no-store"}
    )
