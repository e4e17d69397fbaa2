"""The breakers of one app (``app.breaker``), and the CLI's override of a stored breaker."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from stormproof.clock import Clock
from stormproof.core import breaker as core
from stormproof.core.breaker import State
from stormproof.engine.breakers import CAS_ATTEMPTS, Announce, CircuitBreaker, iso_ms
from stormproof.errors import InvalidAttribute, StoreError
from stormproof.storage.base import CompareAndSet, Store

log = logging.getLogger("stormproof.breakers")


async def force_record(store: Store, name: str, state: State, now: float, by: str) -> core.Breaker:
    """Force a (global) breaker's stored state without its policy: the CLI's override.

    ``State.OPEN`` isolates, ``State.CLOSED`` resets it; the reason records who and when.
    """
    key = f"breaker/{name}"
    reason = f"forced {state.value} by {by} at {iso_ms(now)}"
    for _ in range(CAS_ATTEMPTS):
        rec = await store.get_state(key)
        old = core.from_dict(json.loads(rec.value)) if rec else core.Breaker()
        new = core.force(old, state, now, reason)
        op = CompareAndSet(key, rec.version if rec else None, json.dumps(core.to_dict(new)))
        if (await store.apply([op]))[0].ok:
            log.warning("event=breaker.forced breaker=%s state=%s by=%s", name, state.value, by)
            return new
    raise StoreError(f"breaker {name!r} kept changing: try again")


class BreakerRegistry:
    """The breakers of one app in this process."""

    def __init__(self, store: Callable[[], Store], clock: Callable[[], Clock]) -> None:
        self._store = store
        self._clock = clock
        self.breakers: dict[str, CircuitBreaker] = {}
        self.on_change: Announce | None = None  # given to every breaker declared

    def declare(self, name: str, **options: Any) -> CircuitBreaker:
        """Declare (or redeclare) a breaker; policy fields are validated now."""
        if not isinstance(name, str) or not name or "/" in name:
            raise InvalidAttribute("name", name, "a non-empty name without '/'")
        extra = {
            k: options.pop(k)
            for k in ("scope", "failure_on", "failed_result", "rng")
            if k in options
        }
        b = CircuitBreaker(self._store, self._clock, name, core.policy(**options), **extra)
        b.on_change = self.on_change
        self.breakers[name] = b
        return b

    def get(self, name: str) -> CircuitBreaker:
        """A declared breaker, by name."""
        try:
            return self.breakers[name]
        except KeyError:
            raise InvalidAttribute(
                "breaker", name, f"a declared breaker: {sorted(self.breakers)}"
            ) from None

    async def close(self) -> None:
        """Merge every breaker's pending outcomes (best effort)."""
        for b in self.breakers.values():
            try:
                await b.settle()
            except Exception:  # closing: the counts are advisory
                log.warning("event=breaker.flush_failed breaker=%s", b.name)
