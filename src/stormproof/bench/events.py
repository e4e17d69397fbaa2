"""The cost of the runtime-events protocol: one emission with and without a subscriber.

A consumed message costs two emission sites per batch (the invocation's outcome, once per
batch of up to 10); the figures say what fraction of a message's time that is at a given
throughput (``budget``: microseconds per message at the measured consume rate).
"""

from __future__ import annotations

import time
from typing import Any

from stormproof.engine import events

SITES_PER_BATCH = 1  # Function.execute's outcome; failures add one more


def _per_call(n: int) -> float:
    fields: dict[str, Any] = {"function": "f", "request_id": "r", "attempt": 1}
    started = time.perf_counter()
    for _ in range(n):
        if events.listening():  # the guard the hot sites use
            events.emit("invocation.succeeded", "bench", duration_seconds=0.0, **fields)
    return (time.perf_counter() - started) / n


def run(calls: int = 200_000) -> list[dict[str, float]]:
    """Nanoseconds per emission site with no subscriber and with a no-op one."""
    rows = [{"subscribers": 0, "ns_per_site": _per_call(calls) * 1e9}]
    unsubscribe = events.subscribe(lambda event: None)
    try:
        rows.append({"subscribers": 1, "ns_per_site": _per_call(calls) * 1e9})
    finally:
        unsubscribe()
    return rows
