"""Usage-plan quotas counted in the store, in leased blocks shared by every API process.

Each key's count is the state record ``quota/<key id>``: ``{"start": <period start>,
"used": n}``, changed only by compare-and-set. A process takes a *block* of the quota at a
time (``used += block``) and spends it locally until the period ends, so it writes once per
block, not once per request. The quota is never exceeded; the tolerance is the other way:
with P processes a key can be refused up to ``(P - 1) * block`` requests early (blocks still
held elsewhere), and a block held by a process that stops is lost for the period.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from stormproof.clock import Clock
from stormproof.core.quota import Quota, remaining, window
from stormproof.errors import QuotaExceeded
from stormproof.storage.base import CompareAndSet, Store

PREFIX = "quota/"
MAX_BLOCK = 100
CAS_ATTEMPTS = 50


def block_of(quota: Quota) -> int:
    """How much of a quota a process leases at once (1 % of it, 1 to 100)."""
    return max(1, min(MAX_BLOCK, quota.limit // 100))


class QuotaLedger:
    """Spends quota for keys from this process's leased blocks."""

    def __init__(self, store: Callable[[], Store], clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._blocks: dict[str, tuple[int, float]] = {}  # key id -> (tokens, period start)
        self._locks: dict[str, asyncio.Lock] = {}

    async def spend(self, key_id: str, quota: Quota) -> None:
        """Count one request against ``key_id``'s quota, or raise QuotaExceeded."""
        start, reset = window(quota, self._clock.now())
        if self._take_local(key_id, start):
            return
        async with self._locks.setdefault(key_id, asyncio.Lock()):
            if self._take_local(key_id, start):
                return
            granted = await self._lease(key_id, quota, start)
            if granted == 0:
                raise QuotaExceeded(
                    f"the usage plan's quota of {quota.limit} requests per "
                    f"{quota.period.lower()} is used up",
                    retry_after=max(0.0, reset - self._clock.now()),
                    reset=reset,
                    limit="quota",
                )
            self._blocks[key_id] = (granted - 1, start)

    def _take_local(self, key_id: str, start: float) -> bool:
        tokens, held_start = self._blocks.get(key_id, (0, 0.0))
        if tokens <= 0 or held_start != start:
            return False
        self._blocks[key_id] = (tokens - 1, start)
        return True

    async def _lease(self, key_id: str, quota: Quota, start: float) -> int:
        store = self._store()
        for _ in range(CAS_ATTEMPTS):
            rec = await store.get_state(PREFIX + key_id)
            body = json.loads(rec.value) if rec else {"start": start, "used": 0}
            used = int(body["used"]) if body["start"] == start else 0
            n = min(block_of(quota), remaining(quota, used))
            if n == 0:
                return 0  # refused: nothing written
            value = json.dumps({"start": start, "used": used + n})
            op = CompareAndSet(PREFIX + key_id, rec.version if rec else None, value)
            if (await store.apply([op]))[0].ok:
                return n
        return 0

    async def used(self, key_id: str, quota: Quota) -> int:
        """Requests counted in the current period (leased blocks count as used)."""
        rec = await self._store().get_state(PREFIX + key_id)
        if rec is None:
            return 0
        body = json.loads(rec.value)
        return int(body["used"]) if body["start"] == window(quota, self._clock.now())[0] else 0
