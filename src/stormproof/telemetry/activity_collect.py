"""Recent activity for the dashboard: every process running work counts its functions'
invocations, errors, throttles and durations and the messages its mappings consumed from
each queue, and merges them every second into ``activity/<app>/fn/<function>`` and
``activity/<app>/queue/<queue>`` (buckets of :mod:`stormproof.core.activity`), and the
breaker transitions it saw into ``activity/<app>/breaker/<breaker>``.

The alarm loop flushes it (one compare-and-set per object that did something).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from stormproof.core import activity
from stormproof.engine import events
from stormproof.storage.base import Store
from stormproof.telemetry import alarm_store

log = logging.getLogger("stormproof.telemetry.activity")

INVOKED = {"invocation.succeeded", "invocation.failed", "invocation.throttled"}


def key(app: str, kind: str, name: str) -> str:
    """The record of one object's activity (kind ``fn`` or ``queue``)."""
    return f"activity/{app}/{kind}/{name}"


class ActivityCollector:
    """Buffers one app's counts per (kind, name) and time bucket until :meth:`flush`."""

    def __init__(self, app: str) -> None:
        self.app = app
        self.pending: dict[tuple[str, str], dict[int, list[int]]] = {}
        self.transitions: dict[str, list[dict[str, Any]]] = {}

    def subscribe(self) -> Callable[[], None]:
        """Start counting; returns the unsubscribe function."""
        return events.subscribe(self.on_event)

    def _tally(self, kind: str, name: str, at: float) -> list[int]:
        buckets = self.pending.setdefault((kind, name), {})
        return buckets.setdefault(activity.slot(at), activity.empty())

    def on_event(self, event: events.RuntimeEvent) -> None:
        """Count one event of this app (breakers belong to the store: app ``""``)."""
        f = event.fields
        if event.name == "breaker.changed":
            item = {
                "at": event.at,
                "from": f["previous"],
                "to": f["state"],
                "reason": f.get("reason", ""),
            }
            self.transitions.setdefault(str(f["breaker"]), []).append(item)
            return
        if event.app != self.app:
            return
        if event.name in INVOKED:
            tally = self._tally("fn", str(f["function"]), event.at)
            activity.count(
                tally,
                error=event.name == "invocation.failed",
                throttled=event.name == "invocation.throttled",
                duration=f.get("duration_seconds"),
            )
        elif event.name == "message.deleted":
            tally = self._tally("queue", str(f["queue"]), event.at)
            activity.count(tally, n=int(f.get("count", 1)))

    async def flush(self, store: Store, now: float) -> None:
        """Merge the buffered counts into the store (kept for the next flush on failure)."""
        await self._flush_transitions(store)
        pending, self.pending = self.pending, {}
        try:
            while pending:
                (kind, name), buckets = next(iter(pending.items()))
                merge = lambda old, b=buckets: activity.merge(old, b, now)  # noqa: E731
                await alarm_store.update(store, key(self.app, kind, name), merge)
                del pending[(kind, name)]
        finally:
            for k, buckets in pending.items():  # not merged: count them next time
                mine = self.pending.setdefault(k, {})
                for start, tally in buckets.items():
                    old = mine.setdefault(start, activity.empty())
                    mine[start] = [a + b for a, b in zip(old, tally, strict=True)]

    async def _flush_transitions(self, store: Store) -> None:
        pending, self.transitions = self.transitions, {}
        try:
            while pending:
                name, items = next(iter(pending.items()))
                add = lambda old, i=items: activity.add_transitions(old, i)  # noqa: E731
                await alarm_store.update(store, key(self.app, "breaker", name), add)
                del pending[name]
        finally:
            for name, items in pending.items():
                self.transitions.setdefault(name, [])[:0] = items
