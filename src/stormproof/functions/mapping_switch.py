"""Enabling and disabling an event-source mapping at run time: a durable flag in the store
(``mapping-enabled/<app>/<queue>:<function>``, ``{"enabled": false}``) that every
process's consumer of the mapping reads at most once a second, like Lambda's
UpdateEventSourceMapping ``Enabled``. No record: the mapping runs as declared. A mapping
declared ``enabled=False`` is never started, whatever the flag says.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from stormproof.clock import Clock
from stormproof.storage.base import CompareAndSet, EntryStatus, Store

PREFIX = "mapping-enabled/"
REFRESH = 1.0  # seconds a consumer trusts the flag it read
ATTEMPTS = 10


def key(app: str, mapping_id: str) -> str:
    """The flag's state key."""
    return f"{PREFIX}{app}/{mapping_id}"


async def set_enabled(store: Store, app: str, mapping_id: str, enabled: bool) -> None:
    """Store the flag (compare-and-set, retried when another writer raced us)."""
    name = key(app, mapping_id)
    for _ in range(ATTEMPTS):
        rec = await store.get_state(name)
        op = CompareAndSet(name, rec.version if rec else None, json.dumps({"enabled": enabled}))
        (result,) = await store.apply([op])
        if result.statuses and result.statuses[0] is EntryStatus.OK:
            return
    raise RuntimeError(f"mapping flag {name} kept changing under us")


async def flags(store: Store, app: str) -> dict[str, bool]:
    """Every stored flag of the app: mapping id -> enabled."""
    found = await store.list_states(f"{PREFIX}{app}/")
    return {r.key.rsplit("/", 1)[1]: bool(json.loads(r.value)["enabled"]) for r in found}


class MappingSwitch:
    """One consumer's view of its mapping's flag, read again after ``REFRESH`` seconds."""

    def __init__(self, store: Callable[[], Store], clock: Clock, app: str, mapping_id: str):
        self._store, self._clock, self._key = store, clock, key(app, mapping_id)
        self._enabled, self._read_at = True, float("-inf")

    async def enabled(self) -> bool:
        """Whether the mapping may claim now."""
        now = self._clock.now()
        if now - self._read_at >= REFRESH:
            rec = await self._store().get_state(self._key)
            self._enabled = bool(json.loads(rec.value)["enabled"]) if rec else True
            self._read_at = now
        return self._enabled
