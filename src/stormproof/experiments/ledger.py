"""The ledger: what the handlers really processed, written by them into the same store.

``@ledger.recorded`` wraps a handler: when it returns, the ids of the records it handled
(the ``id`` the load generator put in each body) are sent to the ledger queue before the
invocation counts as done, so a crash in between redelivers the records and shows up as a
duplicate, never as a silent success. When it raises, the failure is recorded and the
exception goes on. "Processed" in a report is counted from these rows, not assumed.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import inspect
import json
import os
import time
import weakref
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stormproof.app import App

LEDGER_RETENTION = 14 * 86400
RECEIVE = 10  # SQS's receive maximum


@dataclass(frozen=True)
class Entry:
    """One invocation as the ledger saw it."""

    at: float  # wall-clock time it finished
    ok: bool
    ids: tuple[str, ...]
    latencies: tuple[float, ...]  # sent -> processed, seconds, for the ids that carried sent_at


def record_ids(event: Any) -> tuple[list[str], list[float]]:
    """The load ids in an invocation's event and their send times: queue records (``body``),
    stream records (``kinesis.data``), bus events (``detail``) or a bare body."""
    records = event.get("Records") if isinstance(event, dict) else None
    bodies = [_body(r) for r in records] if isinstance(records, list) else [event]
    ids, sent = [], []
    for raw in bodies:
        body = (
            raw["detail"] if isinstance(raw, dict) and isinstance(raw.get("detail"), dict) else raw
        )
        if isinstance(body, dict) and "id" in body:
            ids.append(str(body["id"]))
            if isinstance(body.get("sent_at"), int | float):
                sent.append(float(body["sent_at"]))
    return ids, sent


def _body(record: Any) -> Any:
    if not isinstance(record, dict):
        return None
    raw = record.get("body")
    if raw is None and isinstance(record.get("kinesis"), dict):
        raw = base64.b64decode(record["kinesis"].get("data", "")).decode("utf-8", "replace")
    try:
        return json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError:
        return None


_LEDGERS: weakref.WeakKeyDictionary[App, Ledger] = weakref.WeakKeyDictionary()


class Ledger:
    """The ledger queue of an app and the decorator its handlers wear."""

    def __init__(self, app: App, queue: str = "chaos-ledger") -> None:
        self.app = app
        self.queue = app.queue(queue, retention=LEDGER_RETENTION)
        _LEDGERS[app] = self
        self.processed: Counter[str] = Counter()
        self.entries: list[Entry] = []
        self.failed_ids: Counter[str] = Counter()

    def recorded(self, handler: Callable[..., Any]) -> Callable[..., Any]:
        """Wrap ``handler(event, context)`` so that what it processed is written down."""

        @functools.wraps(handler)
        async def wrapper(event: Any, context: Any) -> Any:
            try:
                result = handler(event, context)
                if inspect.isawaitable(result):
                    result = await result
            except BaseException:
                await self._write(event, ok=False)
                raise
            await self._write(event, ok=True)
            return result

        return wrapper

    @classmethod
    def of(cls, app: App, queue: str) -> Ledger:
        """The app's ledger (declared by its module), else a new one on ``queue``; a new one
        only sees handlers that wear it, so an unrecorded app reports everything lost."""
        return _LEDGERS.get(app) or cls(app, queue)

    def reset(self) -> None:
        """Forget what was collected (a new run in the same process)."""
        self.processed.clear()
        self.failed_ids.clear()
        self.entries.clear()

    async def _write(self, event: Any, *, ok: bool) -> None:
        ids, sent = record_ids(event)
        if not ids:
            return
        body = {"ids": ids, "sent": sent, "ok": ok, "at": time.time(), "pid": os.getpid()}
        try:
            await self.queue.send(json.dumps(body))
        except Exception:
            if ok:
                raise  # unrecorded success must fail the invocation: it will be redelivered
            # a failure that cannot be recorded is still a failure: the original goes on

    async def collect(self) -> int:
        """Read (and delete) every ledger row written since the last call; rows read."""
        total = 0
        while True:
            msgs = await self.queue.receive(RECEIVE, visibility_timeout=300, wait=0)
            if not msgs:
                return total
            for m in msgs:
                self._add(json.loads(m.body))
            entries = [
                {"id": str(i), "receipt_handle": m.receipt_handle} for i, m in enumerate(msgs)
            ]
            await self.queue.delete_batch(entries)
            total += len(msgs)

    def _add(self, row: dict[str, Any]) -> None:
        ids = tuple(str(i) for i in row["ids"])
        at = float(row["at"])
        latencies = tuple(max(0.0, at - s) for s in row.get("sent", []))
        self.entries.append(Entry(at, bool(row["ok"]), ids, latencies))
        (self.processed if row["ok"] else self.failed_ids).update(ids)


@dataclass
class Reconciliation:
    """Sent against processed, dead-lettered, lost and duplicated (by record id)."""

    sent: int
    processed: int
    dead_lettered: int
    lost: int
    duplicated: int
    dead_lettered_healthy: int = 0
    lost_ids: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (at most 20 lost ids listed)."""
        d = dict(vars(self))
        d["lost_ids"] = self.lost_ids[:20]
        return d


def reconcile(
    sent: set[str], processed: Counter[str], dead: set[str], poison: set[str]
) -> Reconciliation:
    """Every sent id is processed or dead-lettered; what is neither is lost."""
    done = set(processed)
    lost = sorted(sent - done - dead)
    return Reconciliation(
        sent=len(sent),
        processed=len(done & sent),
        dead_lettered=len(dead & sent),
        lost=len(lost),
        duplicated=sum(n - 1 for i, n in processed.items() if n > 1 and i in sent),
        dead_lettered_healthy=len((dead & sent) - poison),
        lost_ids=lost,
    )


async def settle(ledger: Ledger, rounds: int = 3, pause: float = 0.05) -> None:
    """Collect until a few rounds in a row bring nothing new."""
    quiet = 0
    while quiet < rounds:
        quiet = 0 if await ledger.collect() else quiet + 1
        await asyncio.sleep(pause)
