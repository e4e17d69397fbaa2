"""The Streams page: every stream's shards (state, last sequence number) and, per
consuming mapping and shard, the checkpoint, the lag in records, the lease holder and
the iterator age (how old the last record handed to the function was)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from stormproof.http.dashboard.html import age, esc, link, page, table, url
from stormproof.storage import stream_ops

if TYPE_CHECKING:
    from stormproof.app import App


async def streams_page(app: App, request: Request) -> Response:
    """Every stream in the store with its shards and its mappings' positions."""
    sections = []
    for name, retention, _ in await app.store.run(stream_ops.list_all):
        sections.append(await _section(app, name, retention))
    return page("Streams", "".join(sections) or "<p>no streams</p>")


async def stream_summary(app: App, limit: int = 100) -> list[list[str]]:
    """The overview's rows: each stream (the first ``limit``) with its mappings' worst
    iterator age; a stream a consumer is behind on (age over a minute) is highlighted."""
    rows = []
    for name, _, _ in (await app.store.run(stream_ops.list_all))[:limit]:
        points = await app.store.run(functools.partial(stream_ops.checkpoints_of_stream, name))
        ages = [cp.iterator_age for _, cp in points if cp.iterator_age is not None]
        worst = max(ages) if ages else None
        cls = "class:alert" if worst is not None and worst > 60 else "class:"
        mappings = sorted({m for m, _ in points})
        href = url("streams") + "#s-" + name
        rows.append([cls, link(href, name), esc(", ".join(mappings) or "–"), esc(age(worst))])
    return rows


async def _section(app: App, name: str, retention: float) -> str:
    shards = await (await app.streams.load(name)).describe()
    newest = {s.shard_id: int(s.last_sequence_number or 0) for s in shards}
    shard_rows = [
        [
            esc(s.shard_id),
            esc(s.state),
            esc(s.parent_shard_id or "–"),
            esc(s.last_sequence_number or "–"),
        ]
        for s in shards
    ]
    rows = []
    for mapping, cp in await app.store.run(lambda: stream_ops.checkpoints_of_stream(name)):
        holder = cp.holder if cp.lease_until >= cp.now else None
        lag = newest.get(cp.shard_id, 0) - (cp.seq or 0)
        cls = "class:alert" if lag > 0 and holder is None else "class:"
        rows.append(
            [
                cls,
                esc(mapping),
                esc(cp.shard_id),
                esc(cp.seq if cp.seq else "–"),
                esc(lag),
                esc(holder or "none"),
                esc(age(cp.iterator_age)),
            ]
        )
    return (
        f'<section id="s-{esc(name)}"><h2>Stream {esc(name)}</h2>'
        f"<p>retention {esc(age(retention))}</p>"
        + table(["shard", "state", "parent", "last sequence number"], shard_rows)
        + "<h3>Mappings</h3>"
        + table(
            ["mapping", "shard", "checkpoint", "lag (records)", "lease holder", "iterator age"],
            rows,
        )
        + "</section>"
    )
