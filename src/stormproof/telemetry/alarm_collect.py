"""What every process contributes to alarms: incidents and counts, from runtime events.

Subscribers run inline and must be quick, so events are only buffered here; the alarm
loop of the process (every second) merges the buffer into the store, where the one
evaluator of the app reads it. A dead-lettered message carries no error (the store moves
it on a receive, not where the handler failed), so the collector remembers the last
failure of each function and gives a message dead-lettered from a queue the error of the
last failure of that queue's consumer seen by this process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from stormproof.core import alarm_notice
from stormproof.engine import events
from stormproof.storage.base import Store
from stormproof.telemetry import alarm_store

log = logging.getLogger("stormproof.alarms")
MAX_BUFFERED = 1_000  # incidents per flush; past this the oldest are dropped (and logged)
# event -> (counter metric, the field naming its object)
COUNTED = {
    "invocation.throttled": ("throttles", "function"),
    "execution.failed": ("executions_failed", "machine"),
    "message.dead_lettered": ("dead_lettered", "queue"),
}


class Collector:
    """Buffers incidents and counts of one app's events until :meth:`flush`."""

    def __init__(
        self, app: str, consumers: Callable[[], Mapping[str, str]], link_base: Callable[[], str]
    ) -> None:
        self.app = app
        self._consumers = consumers  # queue -> the function consuming it
        self._link_base = link_base
        self.incidents: dict[str, list[dict[str, Any]]] = {}
        self.counts: dict[str, float] = {}
        self.last_failure: dict[str, tuple[str, str]] = {}
        self.dropped = 0

    def subscribe(self) -> Callable[[], None]:
        """Start buffering; returns the unsubscribe function."""
        return events.subscribe(self.on_event)

    def on_event(self, event: events.RuntimeEvent) -> None:
        """Buffer one event (only this app's)."""
        if event.app != self.app:
            return
        f = dict(event.fields)
        if event.name == "invocation.failed":
            self.last_failure[f["function"]] = (f["error_type"], f["error_message"])
            return
        if event.name in COUNTED:
            metric, field = COUNTED[event.name]
            name = f"{metric}:{f[field]}"
            self.counts[name] = self.counts.get(name, 0.0) + 1
        if event.name == "message.dead_lettered":
            fn = self._consumers().get(f["queue"])
            error_type, message = self.last_failure.get(fn or "", (None, None))
            f.update(error_type=error_type, error_message=message, function=fn)
        self._incident(event.name, f, event.at)

    def _incident(self, name: str, f: dict[str, Any], at: float) -> None:
        subject = alarm_notice.subject_of(name, f)
        item = alarm_notice.incident(name, f, at, link_base=self._link_base())
        if subject is None or item is None:
            return
        bucket = self.incidents.setdefault(f"{subject[0]}:{subject[1]}", [])
        bucket.append(item)
        if len(bucket) > MAX_BUFFERED:
            del bucket[0]
            self.dropped += 1

    async def flush(self, store: Store, now: float) -> None:
        """Merge the buffer into the store (what fails to merge is kept for the next flush)."""
        incidents, self.incidents = self.incidents, {}
        counts, self.counts = self.counts, {}
        try:
            while incidents:
                subject, items = next(iter(incidents.items()))
                await alarm_store.update(
                    store,
                    alarm_store.key(self.app, "incidents", subject),
                    alarm_store.add_incidents(items),
                )
                del incidents[subject]
            while counts:
                name, amount = next(iter(counts.items()))
                await alarm_store.update(
                    store,
                    alarm_store.key(self.app, "count", name),
                    alarm_store.add_count(amount, now),
                )
                del counts[name]
        finally:
            for subject, items in incidents.items():
                self.incidents.setdefault(subject, [])[:0] = items
            for name, amount in counts.items():
                self.counts[name] = self.counts.get(name, 0.0) + amount
        if self.dropped:
            log.warning("event=alarm.incidents_dropped app=%s count=%d", self.app, self.dropped)
            self.dropped = 0
