"""Reading a queue's messages without leasing them (the dashboard's queue page).

Pages are keyed by the row id (``after``), so a queue of a million messages is read a page
at a time and never counted or loaded whole. ``search`` matches a message id exactly or any
substring of the attributes' JSON text (an attribute name or value).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from stormproof.storage.base import QueueCounts
from stormproof.storage.program import Program, Row, Stmt


@dataclass(frozen=True)
class StoredMessage:
    """One message as stored; ``in_flight`` is whether a consumer holds its lease."""

    row_id: int
    message_id: str
    body: str
    attributes: dict[str, Any]
    group_id: str | None
    sent_at: float
    enqueued_at: float
    visible_at: float
    receive_count: int
    in_flight: bool
    source_queue: str | None


def _message(row: Row) -> StoredMessage:
    attrs = json.loads(row[3]) if row[3] else {}
    return StoredMessage(
        int(row[0]),
        row[1],
        row[2],
        attrs if isinstance(attrs, dict) else {},
        row[4],
        float(row[5]),
        float(row[6]),
        float(row[7]),
        int(row[8]),
        bool(row[9]),
        row[10],
    )


def page(queue: str, after: int, limit: int, search: str = "") -> Program[list[StoredMessage]]:
    """Up to ``limit`` messages of ``queue`` with a row id above ``after``, oldest first."""
    params = {"queue": queue, "after": after, "n": limit, "search": search}
    rows = yield Stmt("browse_page", params)
    return [_message(r) for r in rows]


def one(queue: str, message_id: str) -> Program[StoredMessage | None]:
    """One message of ``queue`` by its id, or None."""
    rows = yield Stmt("browse_one", {"queue": queue, "message_id": message_id})
    return _message(rows[0]) if rows else None


def counts_between(first: str, last: str) -> Program[dict[str, QueueCounts]]:
    """Counts of every queue named ``first`` to ``last`` that holds messages, in one
    statement (a page of 100 queues is one round trip; empty queues are absent)."""
    rows = yield Stmt("browse_counts", {"first": first, "last": last})
    out = {r[0]: QueueCounts(int(r[1]), int(r[2]), int(r[3]), r[4], float(r[5])) for r in rows}
    return out


def function_slots() -> Program[dict[str, int]]:
    """Reserved-concurrency slots leased now, per function, by every process (a process
    leases a few slots at a time, so this is at least the concurrency in use)."""
    rows = yield Stmt("browse_slots", {})
    return {str(r[0]).removeprefix("fn:"): int(r[1]) for r in rows}
