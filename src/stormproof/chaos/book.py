"""The fault book: an app's faults as state records in the store.

Each fault is one record ``chaos/<app>/fault/<id>`` holding its :class:`Placement` (with its
absolute window, on the store's clock); each obeying process counts the calls it hit in
``chaos/<app>/count/<id>/<instance>``. Readers ignore a fault past ``expires_at`` whoever
wrote it, so a fault expires on its own even if the process that injected it died; expired
records are swept by whoever reads them next.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from stormproof.core.faults import Fault, Placement, is_active, place
from stormproof.storage.base import CompareAndSet, DeleteState, Store


class FaultBook:
    """Inject, list and remove the faults of app ``app`` in ``store``."""

    def __init__(self, store: Store, app: str) -> None:
        self.store = store
        self.prefix = f"chaos/{app}/fault/"
        self.counts = f"chaos/{app}/count/"

    async def inject(self, fault: Fault) -> str:
        """Store the fault; its window starts now on the store's clock. Returns its id."""
        fault_id = uuid.uuid4().hex[:12]
        placement = place(fault_id, fault, await self.store.now())
        value = json.dumps(placement.to_dict(), separators=(",", ":"))
        await self.store.apply([CompareAndSet(self.prefix + fault_id, None, value)])
        return fault_id

    async def stop(self, fault_id: str | None = None) -> int:
        """Remove one fault, or every fault (the kill switch); returns how many went."""
        records = await self.store.list_states(self.prefix)
        keys = [r.key for r in records if fault_id is None or r.key == self.prefix + fault_id]
        counts = await self.store.list_states(self.counts)
        gone = {k[len(self.prefix) :] for k in keys}
        keys += [r.key for r in counts if r.key[len(self.counts) :].split("/")[0] in gone]
        if keys:
            await self.store.apply([DeleteState(k) for k in keys])
        return len(gone)

    async def placements(self) -> tuple[list[Placement], float]:
        """The faults not yet expired (active or waiting to start) and the store's now."""
        now = await self.store.now()
        found, expired = [], []
        for record in await self.store.list_states(self.prefix):
            placement = Placement.from_dict(json.loads(record.value))
            if now < placement.expires_at:
                found.append(placement)
            else:
                expired.append(DeleteState(record.key, record.version))
        if expired:
            await self.store.apply(expired)  # a sweep: losing a race to another reader is fine
        return found, now

    async def infos(self) -> list[dict[str, Any]]:
        """The faults not yet expired: ``id``, ``fault``, ``starts_at``, ``expires_at``,
        ``active`` and ``injected`` (calls hit, summed over every process)."""
        placements, now = await self.placements()
        hit: dict[str, int] = {}
        for record in await self.store.list_states(self.counts):
            fault_id = record.key[len(self.counts) :].split("/")[0]
            hit[fault_id] = hit.get(fault_id, 0) + int(record.value)
        return [
            {
                "id": p.id,
                "fault": p.fault.to_dict(),
                "starts_at": p.starts_at,
                "expires_at": p.expires_at,
                "active": is_active(p, now),
                "injected": hit.get(p.id, 0),
            }
            for p in sorted(placements, key=lambda p: (p.injected_at, p.id))
        ]


class Tally:
    """This process's count of calls hit per fault, written to the book now and then."""

    def __init__(self, book: FaultBook, instance_id: str) -> None:
        self.book = book
        self.instance_id = instance_id
        self.hits: dict[str, int] = {}
        self._written: dict[str, tuple[int, int | None]] = {}  # fault id -> (count, version)

    def add(self, fault_id: str) -> None:
        """Count one call hit."""
        self.hits[fault_id] = self.hits.get(fault_id, 0) + 1

    async def flush(self) -> None:
        """Write the counts that changed since the last flush (one unit of work)."""
        ops, changed = [], []
        for fault_id, count in self.hits.items():
            written, version = self._written.get(fault_id, (0, None))
            if count != written:
                key = f"{self.book.counts}{fault_id}/{self.instance_id}"
                ops.append(CompareAndSet(key, version, str(count)))
                changed.append((fault_id, count))
        if not ops:
            return
        results = await self.book.store.apply(ops)
        for (fault_id, count), result in zip(changed, results, strict=True):
            if result.ok:
                self._written[fault_id] = (count, int(str(result.values[0])))
            else:  # removed by a stop: start the record again
                self._written.pop(fault_id, None)
