"""Durable queues with SQS semantics (see docs/queues.md for the deviations from SQS)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from stormproof.core import queue_rules as rules
from stormproof.engine.runtime import Runtime
from stormproof.engine.waiting import first_of
from stormproof.errors import (
    InvalidAttribute,
    MessageNotInflight,
    ReceiptHandleIsInvalid,
    StormproofError,
)
from stormproof.queues import bulk
from stormproof.queues.messages import BatchResult, Message, QueueStats, decode_handle
from stormproof.queues.redrive import RedriveManager, RedriveTask
from stormproof.queues.surge import Surge
from stormproof.storage.base import (
    ChangeVisibility,
    Delete,
    Enqueue,
    EntryStatus,
    Lease,
    Operation,
)

_SEND_KEYS = {"id", "body", "delay", "attributes", "group_id", "dedup_id"}


class Queue:
    """A handle on one queue of an app.

    Declared with ``app.queue(...)``; usable once the app is open (``async with app``).
    """

    kind = "queue"

    def __init__(
        self,
        app: Runtime,
        redrives: RedriveManager,
        name: str,
        fifo: bool,
        changes: Mapping[str, Any],
    ) -> None:
        self.app = app
        self.redrives = redrives
        self.name = name
        self.fifo = fifo
        self.changes = dict(changes)
        self.surge: Surge | None = None  # set by ``app.queue(..., surge=...)``

    def __repr__(self) -> str:
        return f"Queue({self.name!r})"

    @property
    def attributes(self) -> rules.QueueAttributes:
        """The queue's attributes as stored (after the app opened)."""
        return self.app.attributes_of(self.name)

    # --- sending --------------------------------------------------------------------

    async def send(
        self,
        body: Any,
        delay: float | None = None,
        attributes: Mapping[str, Any] | None = None,
        group_id: str | None = None,
        dedup_id: str | None = None,
    ) -> str:
        """Store one message durably; returns its message id (the original one if de-duplicated).
        A surging queue (``surge=``) sends it to its surge queue instead."""
        if self.surge is not None and await self.surge.active():
            to: Queue = self.surge.to
            return await to.send(body, delay, attributes, group_id, dedup_id)
        attrs = self.attributes
        msg = rules.prepare_message(attrs, body, delay, attributes, group_id, dedup_id)
        op = Enqueue(self.name, [msg], attrs.dedup_window, attrs.fifo)
        result = await self.app.store.apply([op])
        return str(result[0].values[0])

    @property
    def arn(self) -> str:
        """The stormproof resource name used where AWS puts the queue's ARN."""
        return f"stormproof:queue:{self.name}"

    async def delivery_ops(
        self, record: Any, now: float, *, source: str = "", detail_type: str = ""
    ) -> list[Operation]:
        """Deliver ``record`` as one JSON message (Destination protocol)."""
        attrs = self.app.attributes_of(self.name)
        msg = rules.prepare_message(attrs, json.dumps(record, separators=(",", ":")))
        return [Enqueue(self.name, [msg], attrs.dedup_window, attrs.fifo)]

    def send_sync(self, body: Any, **kwargs: Any) -> str:
        """``send`` for producers outside asyncio (runs on the app's loop thread)."""
        return self.app.run_sync(self.send(body, **kwargs))

    async def send_batch(self, entries: Sequence[Mapping[str, Any]]) -> BatchResult:
        """Send up to 10 entries ``{"id", "body", "delay", "attributes", "group_id", "dedup_id"}``.

        A problem with one entry fails that entry only; a malformed batch raises
        :class:`~stormproof.errors.BatchRequestInvalid`.
        """
        rules.check_batch(list(entries))
        if self.surge is not None and await self.surge.active():
            surge_to: Queue = self.surge.to
            return await surge_to.send_batch(entries)
        attrs = self.attributes
        result = BatchResult()
        ready: list[tuple[str, rules.OutgoingMessage]] = []
        for entry in entries:
            try:
                unknown = set(entry) - _SEND_KEYS
                if unknown:
                    raise InvalidAttribute(
                        "entry", sorted(unknown), f"keys among {sorted(_SEND_KEYS)}"
                    )
                msg = rules.prepare_message(
                    attrs,
                    entry.get("body"),
                    entry.get("delay"),
                    entry.get("attributes"),
                    entry.get("group_id"),
                    entry.get("dedup_id"),
                )
                ready.append((entry["id"], msg))
            except StormproofError as exc:
                result.failed.append((entry["id"], type(exc).__name__, str(exc), True))
        rules.check_batch_size(sum(m.size for _, m in ready))
        if ready:
            op = Enqueue(self.name, [m for _, m in ready], attrs.dedup_window, attrs.fifo)
            done = await self.app.store.apply([op])
            ids = done[0].values
            result.successful = [(e, str(m)) for (e, _), m in zip(ready, ids, strict=True)]
        return result

    async def send_many(
        self, entries: Iterable[Any], chunk: int = bulk.DEFAULT_CHUNK
    ) -> BatchResult:
        """Send any number of entries (mappings as for ``send_batch``; ``id`` optional,
        defaulting to the entry's position), ``chunk`` (1-10,000) per transaction.

        A problem with one entry fails that entry only; see :mod:`stormproof.queues.bulk`.
        A surging queue sends them to its surge queue instead.
        """
        bulk.check_chunk(chunk)
        if self.surge is not None and await self.surge.active():
            surge_to: Queue = self.surge.to
            return await surge_to.send_many(entries, chunk)
        return await bulk.send_many(self.app.store, self.name, self.attributes, entries, chunk)

    # --- receiving ------------------------------------------------------------------

    async def receive(
        self,
        max_messages: int = 1,
        visibility_timeout: float | None = None,
        wait: float | None = None,
    ) -> list[Message]:
        """Lease up to ``max_messages`` (1-10); long-poll up to ``wait`` seconds (0-20).

        Returns as soon as a message is available: just sent, its delay over, or another
        receiver's lease expired. Each call issues new receipt handles.
        """
        count = rules.max_messages(max_messages)
        attrs = self.attributes
        vt = (
            attrs.visibility_timeout
            if visibility_timeout is None
            else rules.visibility("visibility_timeout", visibility_timeout)
        )
        patience = attrs.receive_wait if wait is None else rules.wait_time(wait)
        clock, store = self.app.clock, self.app.store
        deadline = clock.now() + patience
        while True:
            # The mark before the claim: a send committed after the claim looked, whose
            # wake-up comes before the wait below registers, ends the wait at once.
            mark = store.wake_mark([self.name])
            rows, soonest = await store.claim_or_next(self.name, attrs, count, vt)
            left = deadline - clock.now()
            if rows or left <= 0:
                return [Message.from_row(self.name, r) for r in rows]
            nap = left if soonest is None else max(0.0, min(left, soonest))
            waiting = store.wait([self.name], nap + 0.001, since=mark)
            await first_of(waiting, clock.sleep(nap))

    # --- acknowledging --------------------------------------------------------------

    async def delete(self, receipt_handle: str) -> None:
        """Delete a received message.

        Raises ``ReceiptHandleIsInvalid`` if it was received again since this handle was
        issued (SQS would succeed without deleting; we refuse, to avoid double processing).
        Deleting an already deleted message succeeds.
        """
        lease = decode_handle(self.name, receipt_handle)
        status = (await self.app.store.apply([Delete(self.name, [lease])]))[0].statuses[0]
        if status is EntryStatus.STALE:
            raise ReceiptHandleIsInvalid(receipt_handle, "the message was received again since")

    async def change_visibility(self, receipt_handle: str, visibility_timeout: float) -> None:
        """Hide an in-flight message for ``visibility_timeout`` seconds from now (0 = release)."""
        lease = decode_handle(self.name, receipt_handle)
        timeout = rules.visibility("visibility_timeout", visibility_timeout)
        op = ChangeVisibility(self.name, [lease], [timeout])
        status = (await self.app.store.apply([op]))[0].statuses[0]
        _raise_for(status, receipt_handle, timeout)

    async def delete_batch(self, entries: Sequence[Mapping[str, Any]]) -> BatchResult:
        """Delete up to 10 entries ``{"id", "receipt_handle"}``; per-entry results."""
        rules.check_batch(list(entries))
        return await self._lease_batch(entries, None)

    async def change_visibility_batch(self, entries: Sequence[Mapping[str, Any]]) -> BatchResult:
        """Change visibility of up to 10 ``{"id", "receipt_handle", "visibility_timeout"}``."""
        rules.check_batch(list(entries))
        return await self._lease_batch(entries, "visibility_timeout")

    async def _lease_batch(
        self, entries: Sequence[Mapping[str, Any]], timeout_key: str | None
    ) -> BatchResult:
        result = BatchResult()
        valid: list[tuple[str, str, Lease, float]] = []
        for entry in entries:
            try:
                lease = decode_handle(self.name, entry.get("receipt_handle", ""))
                t = rules.visibility(timeout_key, entry.get(timeout_key)) if timeout_key else 0.0
                valid.append((entry["id"], entry["receipt_handle"], lease, t))
            except StormproofError as exc:
                result.failed.append((entry["id"], type(exc).__name__, str(exc), True))
        if not valid:
            return result
        leases = [v[2] for v in valid]
        op = (
            ChangeVisibility(self.name, leases, [v[3] for v in valid])
            if timeout_key
            else Delete(self.name, leases)
        )
        statuses = (await self.app.store.apply([op]))[0].statuses
        for (eid, handle, _, t), status in zip(valid, statuses, strict=True):
            try:
                if timeout_key:
                    _raise_for(status, handle, t)
                elif status is EntryStatus.STALE:
                    raise ReceiptHandleIsInvalid(handle, "the message was received again since")
                result.successful.append((eid, handle))
            except StormproofError as exc:
                result.failed.append((eid, type(exc).__name__, str(exc), True))
        return result

    # --- management -----------------------------------------------------------------

    async def stats(self) -> QueueStats:
        """Visible, in-flight and delayed counts and the age of the oldest message."""
        c = await self.app.store.counts(self.name)
        age = None if c.oldest_enqueued_at is None else max(0.0, c.now - c.oldest_enqueued_at)
        return QueueStats(c.visible, c.in_flight, c.delayed, age)

    async def purge(self) -> int:
        """Delete every message, delayed and in-flight ones included; returns how many."""
        return await self.app.store.purge(self.name)

    async def start_redrive(
        self, destination: Queue | str | None = None, rate: int | None = None
    ) -> RedriveTask:
        """Move this DLQ's messages back to their sources (or ``destination``); see redrive."""
        dest = destination.name if isinstance(destination, Queue) else destination
        return await self.redrives.start(self.name, dest, rate)


def _raise_for(status: EntryStatus, handle: str, timeout: float) -> None:
    if status is EntryStatus.STALE:
        raise ReceiptHandleIsInvalid(handle, "the message was received again since")
    if status in (EntryStatus.NOT_IN_FLIGHT, EntryStatus.GONE):
        raise MessageNotInflight(handle)
    if status is EntryStatus.TOO_LONG:
        raise InvalidAttribute(
            "visibility_timeout", timeout, "at most 43200 seconds counted from the receive"
        )
