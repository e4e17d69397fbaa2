"""One process's view of an app's faults: which it obeys, refreshed at most every 0.5 s.

A view reads the fault book (on the raw store, never through the faulty-store proxy: a
store fault must not delay the kill switch), decides which faults this process obeys
(``ALL``; ``PERCENT(p)`` by a stable hash; ``COUNT(n)`` by holding one of ``n`` slots
leased in the store, so exactly ``n`` live processes obey) and answers call sites from
memory. A new fault or a stop reaches every process within one refresh (0.5 s).
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass

from stormproof.chaos.book import FaultBook, Tally
from stormproof.clock import Clock
from stormproof.core import faults as decide
from stormproof.core.faults import Placement
from stormproof.storage.base import AcquireSlots, ExtendSlots, ReleaseSlots

log = logging.getLogger("stormproof.chaos")
REFRESH = 0.5  # seconds between reads of the fault book: the 1 s promise, with margin
SLOT_TTL = 3.0  # a COUNT slot outlives its holder this long (then another process obeys)


@dataclass
class Obeyed:
    """A fault this process obeys, with its own draws (seeded: reproducible)."""

    placement: Placement
    rng: random.Random


class FaultView:
    """The faults of app ``app`` that this process (``instance_id``) obeys."""

    def __init__(self, book: FaultBook, clock: Clock, instance_id: str) -> None:
        self.book = book
        self.clock = clock
        self.instance_id = instance_id
        self.tally = Tally(book, instance_id)
        self._by_target: dict[str, list[Obeyed]] = {}
        self._prefixed: list[Obeyed] = []
        self.obeyed = []
        self.skew = 0.0  # the store's clock minus ours: windows are on the store's clock
        self._slots: dict[str, list[int]] = {}  # COUNT faults: the slot this process holds

    async def refresh(self) -> None:
        """Read the book, take or renew COUNT slots, and write this process's hit counts."""
        placements, store_now = await self.book.placements()
        self.skew = store_now - self.clock.now()
        known = {o.placement.id: o for o in self.obeyed}
        obeyed = []
        for placement in placements:
            if await self._obeys(placement):
                old = known.get(placement.id)
                obeyed.append(old if old is not None else _obeyed(placement))
        self.obeyed = obeyed
        await self._release({p.id for p in placements})
        live = {o.placement.id for o in obeyed}
        self.tally.hits = {k: v for k, v in self.tally.hits.items() if k in live}
        await self.tally.flush()

    def hits(self, target: str) -> list[Obeyed]:
        """The obeyed faults that apply to this call on ``target`` now (drawing each)."""
        found = self._by_target.get(target)
        if found is None and not self._prefixed:
            return []  # the common case with chaos on: one dict lookup
        candidates = (found or []) + [
            o for o in self._prefixed if decide.matches(o.placement.fault.target, target)
        ]
        now = self.clock.now() + self.skew
        return [
            o
            for o in candidates
            if decide.is_active(o.placement, now)
            and decide.hits(o.placement.fault.probability, o.rng)
        ]

    @property
    def obeyed(self) -> list[Obeyed]:
        """Every fault this process obeys (active or waiting to start)."""
        return self._obeyed

    @obeyed.setter
    def obeyed(self, obeyed: list[Obeyed]) -> None:
        # Index by exact target; HTTP targets match by URL prefix, so they stay a list.
        self._obeyed = obeyed
        self._by_target = {}
        self._prefixed = []
        for o in obeyed:
            if o.placement.fault.kind == "http-target":
                self._prefixed.append(o)
            else:
                self._by_target.setdefault(o.placement.fault.target, []).append(o)

    async def close(self) -> None:
        """Give back every COUNT slot (another process may obey at once)."""
        await self._release(set())
        self.obeyed = []

    async def _obeys(self, placement: Placement) -> bool:
        kind, amount = decide.selection(placement.fault.selection)
        if kind == "ALL":
            return True
        if kind == "PERCENT":
            return decide.percent_obeys(self.instance_id, placement.id, amount)
        name = f"chaos:{placement.id}"
        store = self.book.store
        held = self._slots.get(placement.id)
        if held:
            result = await store.apply([ExtendSlots(name, self.instance_id, held, SLOT_TTL)])
        else:
            op = AcquireSlots(name, int(amount), self.instance_id, 1, SLOT_TTL)
            result = await store.apply([op])
        self._slots[placement.id] = [int(str(v)) for v in result[0].values]
        return bool(self._slots[placement.id])

    async def _release(self, keep: set[str]) -> None:
        gone = [(fid, slots) for fid, slots in self._slots.items() if fid not in keep]
        ops = [ReleaseSlots(f"chaos:{fid}", self.instance_id, slots) for fid, slots in gone]
        for fault_id, _ in gone:
            del self._slots[fault_id]
        if any(slots for _, slots in gone):
            await self.book.store.apply(ops)


def _obeyed(placement: Placement) -> Obeyed:
    seed = placement.fault.seed
    return Obeyed(placement, random.Random(seed) if seed is not None else random.Random())
