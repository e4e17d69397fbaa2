"""Throttles applied as API Gateway does: per client (usage plan), then route, then account.

Each level is a global limit (:mod:`stormproof.engine.limits`): a GCRA bucket in the store,
spent by every API process from leased blocks of tokens, so several ``stormproof serve``
processes on one store together stay within a route's rate, with one store write per block
(not per request). Tolerance: never more than the limit is admitted; a process may refuse
while another still holds unspent tokens of its block (at most ``rate * LEASE_FOR`` each).
A refusal writes nothing, and for ``retry_after`` seconds this process refuses that level
without even reading the store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from stormproof.clock import Clock
from stormproof.core.token_bucket import BucketLimits
from stormproof.engine.limits import Limit, define_limit
from stormproof.engine.slots import SlotPool
from stormproof.errors import TooManyRequests
from stormproof.storage.base import Store

#: A level: (label for the message, limit name, key within the limit, its limits or None).
Level = tuple[str, str, str, BucketLimits | None]
MAX_REFUSALS = 10_000


def _no_pool(name: str, size: int) -> SlotPool:  # throttles have no concurrency part
    raise AssertionError(f"no slot pool for {name} ({size})")


class Throttles:
    """Global token buckets; ``admit`` takes a token from each level or refuses."""

    def __init__(self, store: Callable[[], Store], clock: Clock) -> None:
        self.clock = clock
        self._store = store
        self._limits: dict[tuple[str, float, int], Limit] = {}
        self._refused: dict[tuple[str, str], float] = {}  # level -> refuse until

    def _limit(self, name: str, limits: BucketLimits) -> Limit:
        found = self._limits.get((name, limits.rate, limits.burst))
        if found is None:
            found = define_limit(
                self._store,
                lambda: self.clock,
                _no_pool,
                name,
                rate=limits.rate,
                burst=limits.burst,
            )
            self._limits[(name, limits.rate, limits.burst)] = found
        return found

    def _remember_refusal(self, level: tuple[str, str], until: float, now: float) -> None:
        if len(self._refused) >= MAX_REFUSALS:  # per-client levels: keep memory bounded
            self._refused = {k: u for k, u in self._refused.items() if u > now}
        self._refused[level] = until

    async def admit(self, levels: Sequence[Level]) -> None:
        """Take one token at every level (most specific first) or raise TooManyRequests.

        A refusal at one level takes nothing from the levels after it; tokens already
        taken at the levels before it stay taken, as API Gateway counts a throttled
        request against the limits it passed.
        """
        for label, name, key, limits in levels:
            if limits is None:
                continue
            now = self.clock.now()
            until = self._refused.get((name, key), 0.0)
            limit = self._limit(name, limits)
            if now < until or not await limit.take(1, key):
                if now >= until:
                    until = now + limit.retry_after
                    self._remember_refusal((name, key), until, now)
                raise TooManyRequests(
                    f"the {label} limit of {limits.rate:g} requests/s "
                    f"(burst {limits.burst}) is exceeded",
                    retry_after=max(0.0, until - now),
                    limit=label,
                )
