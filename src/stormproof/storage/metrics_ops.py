"""Store programs for metrics scrapes: every queue's depth in one statement."""

from __future__ import annotations

from stormproof.storage.base import QueueCounts
from stormproof.storage.program import Program, Stmt


def depths() -> Program[tuple[list[str], dict[str, QueueCounts], float]]:
    """Every queue's name, the counts of those holding messages, and the store's now, in
    one transaction (names only: parsing 1,000 queues' attributes would dominate a scrape)."""
    rows = yield Stmt("queue_names", {})
    counts = yield from all_counts()
    now = float(rows[0][1]) if rows else 0.0
    return [str(r[0]) for r in rows], counts, now


def all_counts() -> Program[dict[str, QueueCounts]]:
    """Visible, in-flight and delayed counts and the oldest enqueue time of every queue
    holding messages (queues without messages are absent)."""
    rows = yield Stmt("all_counts", {})
    return {
        str(queue): QueueCounts(int(visible), int(in_flight), int(delayed), oldest, float(now))
        for queue, visible, in_flight, delayed, oldest, now in rows
    }
