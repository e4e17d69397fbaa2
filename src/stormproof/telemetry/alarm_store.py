"""Where alarms keep their state: small compare-and-set records in the store, and the cheap
reads of the metrics they watch.

Keys (``<app>`` is the app's name, so two apps on one store keep separate alarms):

* ``alarms/<app>/state/<alarm>``: the alarm's :class:`~stormproof.core.alarm.AlarmState`
  and the last incident it delivered;
* ``alarms/<app>/lease``: which process evaluates, until when (one evaluator per app);
* ``alarms/<app>/incidents/<kind>:<object>``: the newest incidents about an object;
* ``alarms/<app>/count/<metric>:<object>``: a counter's total, merged from every process.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stormproof.core.alarm import Selector
from stormproof.storage import metrics_ops, stream_ops
from stormproof.storage.base import CompareAndSet, EntryStatus, QueueCounts, StateRecord, Store

CAS_ATTEMPTS = 10
MAX_KEPT_INCIDENTS = 50  # per object; a notification carries up to all of them


def key(app: str, *parts: str) -> str:
    """The state key ``alarms/<app>/<parts...>``."""
    return "/".join(("alarms", app, *parts))


async def read(store: Store, name: str) -> tuple[StateRecord | None, Any]:
    """A record and its decoded JSON value (None when absent)."""
    rec = await store.get_state(name)
    return rec, (json.loads(rec.value) if rec else None)


async def update(store: Store, name: str, change: Callable[[Any], Any]) -> Any:
    """Apply ``change(old value or None)`` by compare-and-set, retrying on a race; returns
    the value written (``change`` returning None writes nothing)."""
    for _ in range(CAS_ATTEMPTS):
        rec, old = await read(store, name)
        new = change(old)
        if new is None:
            return None
        op = CompareAndSet(name, rec.version if rec else None, json.dumps(new))
        (result,) = await store.apply([op])
        if result.statuses and result.statuses[0] is EntryStatus.OK:
            return new
    raise RuntimeError(f"alarm record {name} kept changing under us")


def take_lease(holder: str, now: float, ttl: float) -> Callable[[Any], Any]:
    """A change taking the evaluator lease if free, expired or already ours (else None)."""

    def change(old: Any) -> Any:
        if old and old["holder"] != holder and old["until"] > now:
            return None
        return {"holder": holder, "until": now + ttl}

    return change


def add_incidents(items: list[dict[str, Any]]) -> Callable[[Any], Any]:
    """A change appending incidents, numbered by a sequence, the newest kept."""

    def change(old: Any) -> Any:
        seq, kept = (old["seq"], old["items"]) if old else (0, [])
        for item in items:
            seq += 1
            kept.append({**item, "seq": seq})
        return {"seq": seq, "items": kept[-MAX_KEPT_INCIDENTS:]}

    return change


def add_count(amount: float, now: float) -> Callable[[Any], Any]:
    """A change adding ``amount`` to a counter's total (``since``: when it was created)."""
    return lambda old: {
        "total": (old or {"total": 0})["total"] + amount,
        "since": (old or {}).get("since", now),
    }


@dataclass
class Snapshot:
    """What one evaluation reads, in a few statements whatever the number of alarms: the
    stored alarm states, the counters, every queue's depth, every global breaker."""

    states: dict[str, StateRecord]
    counts: dict[str, Any]
    depths: dict[str, QueueCounts]
    breakers: dict[str, Any]


async def snapshot(store: Store, app: str, *, queues: bool, breakers: bool) -> Snapshot:
    """Read the evaluation's inputs (queue depths and breakers only when some alarm needs
    them: one grouped statement each)."""
    states = {r.key.rsplit("/", 1)[1]: r for r in await store.list_states(key(app, "state", ""))}
    counts = {
        r.key.rsplit("/", 1)[1]: json.loads(r.value)
        for r in await store.list_states(key(app, "count", ""))
    }
    depths = await store.run(metrics_ops.all_counts) if queues else {}
    found = {
        r.key.removeprefix("breaker/"): json.loads(r.value)
        for r in (await store.list_states("breaker/") if breakers else [])
    }
    return Snapshot(states, counts, depths, found)


async def gauge(store: Store, snap: Snapshot, selector: Selector) -> float:
    """The metric's value now, from the snapshot (a stream: its checkpoints, read now)."""
    m, subject = selector.metric, selector.subject
    if m in ("dlq_depth", "queue_depth", "oldest_age"):
        c = snap.depths.get(subject)
        if c is None:
            return 0.0
        if m == "oldest_age":
            return 0.0 if c.oldest_enqueued_at is None else max(0.0, c.now - c.oldest_enqueued_at)
        return float(c.visible + c.in_flight + c.delayed)
    if m == "breaker_open":
        value = snap.breakers.get(subject)
        return 1.0 if value and value.get("state") in ("open", "half_open") else 0.0
    if m == "iterator_age":
        rows = await store.run(lambda: stream_ops.checkpoints_of_stream(subject))
        return max((cp.iterator_age or 0.0 for _, cp in rows), default=0.0)
    return counter(snap, selector)[0]


def counter(snap: Snapshot, selector: Selector) -> tuple[float, float | None]:
    """A counter's merged total and when its record was created (None: no count yet)."""
    value = snap.counts.get(str(selector))
    return (float(value["total"]), value.get("since")) if value else (0.0, None)
