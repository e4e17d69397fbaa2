"""Bulk sends beyond SQS's 10: ``Queue.send_many`` stores any number of entries in chunks.

Each chunk is one store transaction (one multi-row insert on PostgreSQL, one
``executemany`` on SQLite), so a producer pays one commit per ``chunk`` messages instead
of one per 10. Entries are validated one by one exactly as ``send_batch`` validates
them; a bad entry fails alone, with the same error codes. Deviation from SQS (which has
no such call): there is no total-size limit per chunk, only the per-message one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterable, Mapping
from typing import Any

from stormproof.core import queue_rules as rules
from stormproof.errors import BatchRequestInvalid, InvalidAttribute, StormproofError
from stormproof.queues.messages import BatchResult
from stormproof.storage.base import Enqueue, Store

DEFAULT_CHUNK = 1000
MAX_CHUNK = 10_000  # messages per transaction: bounds the memory and the writer's hold
SEND_KEYS = frozenset({"id", "body", "delay", "attributes", "group_id", "dedup_id"})


def check_chunk(chunk: Any) -> int:
    """``chunk`` as an int from 1 to :data:`MAX_CHUNK`, else :class:`InvalidAttribute`."""
    if isinstance(chunk, bool) or not isinstance(chunk, int) or not 1 <= chunk <= MAX_CHUNK:
        raise InvalidAttribute("chunk", chunk, f"a whole number from 1 to {MAX_CHUNK}")
    return chunk


def prepare(
    attrs: rules.QueueAttributes, index: int, entry: Any, seen: set[str]
) -> tuple[str, rules.OutgoingMessage]:
    """One entry's id and prepared message; raises what ``send_batch`` would for it.

    An entry without ``"id"`` is named by its position in the iterable (always valid).
    """
    # ``type(...) is dict`` first: the abstract Mapping test costs more than the rest of
    # an entry's checks, and nearly every entry is a plain dict.
    if type(entry) is not dict and not isinstance(entry, Mapping):
        raise InvalidAttribute("entry", type(entry).__name__, "a mapping with a 'body' key")
    if "id" in entry:
        entry_id = entry["id"]
        rules.check_batch([entry])  # the id's rules, for one entry
    else:
        entry_id = str(index)
    if entry_id in seen:
        raise BatchRequestInvalid("BatchEntryIdsNotDistinct", f"entry id {entry_id!r} repeats")
    seen.add(entry_id)
    if len(entry) == 1 and "body" in entry:  # the usual entry: no other key to check
        return entry_id, rules.prepare_message(attrs, entry["body"])
    if not SEND_KEYS.issuperset(entry):
        unknown = sorted(set(entry) - SEND_KEYS)
        raise InvalidAttribute("entry", unknown, f"keys among {sorted(SEND_KEYS)}")
    message = rules.prepare_message(
        attrs,
        entry.get("body"),
        entry.get("delay"),
        entry.get("attributes"),
        entry.get("group_id"),
        entry.get("dedup_id"),
    )
    return entry_id, message


async def send_many(
    store: Store, queue: str, attrs: rules.QueueAttributes, entries: Iterable[Any], chunk: int
) -> BatchResult:
    """Validate and store ``entries`` ``chunk`` at a time; per-entry results in order.

    While one chunk is being stored the next one is validated: the store's work (the
    writer thread, or PostgreSQL's round trip) overlaps this loop's. Chunks still commit
    one after the other, so FIFO order and de-duplication across chunks hold.
    """
    size = check_chunk(chunk)
    result = BatchResult()
    seen: set[str] = set()
    ready: list[tuple[str, rules.OutgoingMessage]] = []
    storing: asyncio.Task[None] | None = None
    try:
        for index, entry in enumerate(entries):
            try:
                ready.append(prepare(attrs, index, entry, seen))
            except StormproofError as exc:
                failed_id = entry.get("id", index) if isinstance(entry, Mapping) else index
                result.failed.append((str(failed_id), type(exc).__name__, str(exc), True))
            if len(ready) >= size:
                storing = await _next(storing, _store(store, queue, attrs, ready, result))
                ready = []
        if ready:
            storing = await _next(storing, _store(store, queue, attrs, ready, result))
        if storing is not None:
            await storing
            storing = None
    finally:
        if storing is not None:  # only when leaving on an error: do not leave it running
            storing.cancel()
    return result


async def _next(
    storing: asyncio.Task[None] | None, work: Coroutine[Any, Any, None]
) -> asyncio.Task[None]:
    """Wait for the chunk being stored, then start ``work`` (returned running)."""
    if storing is not None:
        try:
            await storing
        except BaseException:
            work.close()  # never started: close it rather than leave it unawaited
            raise
    task = asyncio.ensure_future(work)
    await asyncio.sleep(0)  # let it reach the store before the next chunk is prepared
    return task


async def _store(
    store: Store,
    queue: str,
    attrs: rules.QueueAttributes,
    ready: list[tuple[str, rules.OutgoingMessage]],
    result: BatchResult,
) -> None:
    op = Enqueue(queue, [m for _, m in ready], attrs.dedup_window, attrs.fifo)
    done = await store.apply([op])
    ids = done[0].values
    result.successful += [(e, str(m)) for (e, _), m in zip(ready, ids, strict=True)]
