"""``queues send-batch`` input: NDJSON lines parsed into entries, sent 1,000 per
transaction with ``Queue.send_many``.

Each line is an object ``{"body": ..., "delay", "group_id", "dedup_id", "attributes"}``
(an envelope) or any other JSON value, which is the body itself. Entry ids are line
numbers, so every failure names its line.
"""

from __future__ import annotations

import json
from typing import IO, Any

from stormproof.cli.output import BadUsage, progress_bar
from stormproof.queues.queue import Queue

BATCH = 1000  # entries per send_many chunk (one transaction)
_ENVELOPE_KEYS = {"body", "delay", "group_id", "dedup_id", "attributes"}
Entry = tuple[int, dict[str, Any]]  # (line, send_batch entry without its id)
Sent = tuple[int, str]  # (line, message id)
Failure = tuple[int, str, str]  # (line, code, message)


def parse_line(text: str) -> dict[str, Any]:
    """One NDJSON line as a send entry; raises ValueError for bad JSON or unknown keys.

    An object with a ``"body"`` key is an envelope (``body``, ``delay``, ``group_id``,
    ``dedup_id``, ``attributes``); any other JSON value is the body itself.
    """
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} at column {exc.colno}") from None
    except RecursionError:
        raise ValueError("not JSON this runtime reads: nested too deeply") from None
    if not isinstance(value, dict) or "body" not in value:
        return {"body": value}
    unknown = sorted(set(value) - _ENVELOPE_KEYS)
    if unknown:
        raise ValueError(f"unknown keys {unknown}; allowed {sorted(_ENVELOPE_KEYS)}")
    return value


async def _send_chunk(queue: Queue, chunk: list[Entry]) -> tuple[list[Sent], list[Failure]]:
    entries = [{**entry, "id": str(line)} for line, entry in chunk]
    result = await queue.send_many(entries, chunk=BATCH)
    return (
        [(int(eid), mid) for eid, mid in result.successful],
        [(int(eid), code, msg) for eid, code, msg, _ in result.failed],
    )


async def send_all(
    queue: Queue, entries: list[Entry], show: bool
) -> tuple[list[Sent], list[Failure]]:
    """Send entries with ``send_many``, :data:`BATCH` per transaction (with a progress bar
    if ``show``); sent and failed."""
    sent: list[Sent] = []
    failed: list[Failure] = []
    with progress_bar("sending", len(entries), show) as update:
        for start in range(0, len(entries), BATCH):
            s, f = await _send_chunk(queue, entries[start : start + BATCH])
            sent += s
            failed += f
            update(len(sent) + len(failed), len(entries))
    return sent, failed


def read_entries(source: IO[str]) -> tuple[int, list[Entry], list[Failure]]:
    """Line count, parsed entries by line number, and the lines that did not parse."""
    try:
        lines = source.read().splitlines()
    except UnicodeDecodeError as exc:
        raise BadUsage(f"{source.name}: not UTF-8 text ({exc.reason})") from exc
    entries: list[Entry] = []
    failed: list[Failure] = []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            entries.append((number, parse_line(text)))
        except ValueError as exc:
            failed.append((number, "InvalidLine", str(exc)))
    return len(lines), entries, failed
