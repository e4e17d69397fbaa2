"""The record ids sitting in dead-letter queues and on-failure destinations.

A queue's DLQ holds the messages themselves; a stream mapping's on-failure destination
holds Lambda's pointer record (``KinesisBatchInfo``: shard and sequence range), which is
resolved by reading those records back from the stream, so a dropped batch counts every
record it dropped.
"""

from __future__ import annotations

import json
from typing import Any

from stormproof.app import App
from stormproof.experiments.ledger import RECEIVE, record_ids
from stormproof.streams.iterators import AtSequenceNumber

HIDE = 600.0  # read messages stay hidden while the report is written; they are not deleted


async def dead_lettered(app: App, queues: tuple[str, ...]) -> set[str]:
    """Every load id in ``queues`` (read, not deleted: they reappear afterwards)."""
    found: set[str] = set()
    for name in queues:
        queue = await app.get_queue(name)
        while msgs := await queue.receive(RECEIVE, visibility_timeout=HIDE, wait=0):
            for m in msgs:
                found |= await _ids(app, m.body)
    return found


async def _ids(app: App, raw: str) -> set[str]:
    try:
        body = json.loads(raw)
    except json.JSONDecodeError:
        return set()
    if isinstance(body, dict) and isinstance(body.get("KinesisBatchInfo"), dict):
        return await _stream_ids(app, body["KinesisBatchInfo"])
    ids, _ = record_ids(body)
    return set(ids)


async def _stream_ids(app: App, info: dict[str, Any]) -> set[str]:
    name = str(info["streamArn"]).rsplit("/", 1)[-1]
    stream = app.streams.get(name)
    size = int(info["batchSize"])
    got = await stream.read(info["shardId"], AtSequenceNumber(info["startSequenceNumber"]), size)
    found: set[str] = set()
    for r in got.records:
        try:
            body = json.loads(r.data)
        except json.JSONDecodeError:
            continue
        if isinstance(body, dict) and "id" in body:
            found.add(str(body["id"]))
    return found
