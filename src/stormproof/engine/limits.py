"""Global rate and concurrency limits (``app.limit(...)``), shared by every process.

A rate limit is one state record per key, ``limit/<name>/<key>``, holding the theoretical
arrival time of each of its rates (:mod:`stormproof.core.bucket`). A grant is one atomic
step in the store (:class:`~stormproof.storage.limit_ops.TakeTokens`: one statement on
PostgreSQL, one writer transaction on SQLite), so concurrent takers never admit more than
the burst and never lose a race they must retry. To avoid a store write per call, a
process takes a *leased block* of tokens (enough for :data:`LEASE_FOR` seconds at the
rate, within the burst) and spends it locally; tokens unspent after :data:`LEASE_FOR`
seconds are dropped, so a block never turns into a late burst. A refused take writes
nothing, and the process remembers the refusal until its ``retry_after``: its other
callers wait without asking the store again.

The concurrency limit (a bulkhead) is a global slot pool (``stormproof.engine.slots``),
named ``limit:<name>``: leased slots, renewed while held, back on their own if a process dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, cast

from stormproof.clock import Clock
from stormproof.core import bucket
from stormproof.core.bucket import Rate
from stormproof.core.numbers import whole_number
from stormproof.engine.slots import SlotPool
from stormproof.errors import InvalidAttribute
from stormproof.storage.base import Store
from stormproof.storage.limit_ops import TakeTokens

LEASE_FOR = 0.1  # a leased block covers this many seconds of the rate, and expires then
MIN_WAIT = 0.005  # shortest wait between two tries of a waiting acquire


class Limit:
    """A named limit: ``rate``/``burst`` (several with ``rates=``) and ``concurrency``."""

    def __init__(
        self,
        store: Callable[[], Store],
        clock: Callable[[], Clock],
        pool: Callable[[str, int], SlotPool],
        name: str,
        rates: Sequence[Rate],
        concurrency: int | None,
        key: str | None = None,
    ) -> None:
        self.name = name
        self.rates = list(rates)
        self.concurrency = concurrency
        self.default_key = key
        self._store = store
        self._clock = clock
        self._pool = pool
        self._blocks: dict[str, tuple[int, float]] = {}  # key -> (tokens, usable until)
        self._leasing: dict[str, asyncio.Lock] = {}  # one lease in flight per key and process
        self._refused: dict[str, float] = {}  # key -> when the store may grant again
        self.retry_after = 0.0

    def state_key(self, key: str | None) -> str:
        """The state record of one key's buckets."""
        return f"limit/{self.name}/{key if key is not None else (self.default_key or '')}"

    def _block_size(self, want: int) -> int:
        per_lease = min(math.ceil(r.rate / r.per * LEASE_FOR) for r in self.rates)
        return max(want, min(per_lease, *(r.burst for r in self.rates)))

    async def take(self, want: int = 1, key: str | None = None) -> int:
        """Take up to ``want`` tokens now (from this process's block first); 0: refused,
        then :attr:`retry_after` says how long to wait."""
        if not self.rates or want <= 0:
            return max(0, want)
        sk = self.state_key(key)
        n = self._spend(sk, want)
        if n or self._still_refused(sk):
            return n
        lock = self._leasing.setdefault(sk, asyncio.Lock())
        async with lock:  # callers queued behind a lease spend its block first
            n = self._spend(sk, want)
            if n or self._still_refused(sk):
                return n
            now = self._clock().now()
            granted = await self._lease(sk, self._block_size(want), now)
            if not granted:
                self._refused[sk] = now + self.retry_after
                return 0
            n = min(want, granted)
            self._blocks[sk] = (granted - n, now + LEASE_FOR)
            return n

    def _still_refused(self, sk: str) -> bool:
        """Whether the store refused this key too recently to ask again (then
        :attr:`retry_after` is the time left): one refusal answers every caller."""
        left = self._refused.get(sk, 0.0) - self._clock().now()
        if left <= 0:
            return False
        self.retry_after = left
        return True

    def _spend(self, sk: str, want: int) -> int:
        tokens, until = self._blocks.get(sk, (0, 0.0))
        if not tokens or self._clock().now() >= until:
            return 0
        n = min(want, tokens)
        self._blocks[sk] = (tokens - n, until)
        return n

    async def _lease(self, sk: str, block: int, now: float) -> int:
        """Up to ``block`` tokens from the store in one atomic grant (0: refused, and
        :attr:`retry_after` set)."""
        op = TakeTokens(sk, self.rates, block, now)
        result = (await self._store().apply([op]))[0]
        granted, wait = cast(tuple[int, float], tuple(result.values))
        self.retry_after = max(MIN_WAIT, wait) if not granted else 0.0
        return granted

    @contextlib.asynccontextmanager
    async def acquire(self, key: str | None = None) -> AsyncIterator[None]:
        """Wait for a token and a concurrency slot; the slot is given back on exit."""
        clock = self._clock()
        while not await self.take(1, key):
            await clock.sleep(max(MIN_WAIT, self.retry_after))
        pool = self.slot_pool()
        if pool is None:
            yield
            return
        wait = MIN_WAIT
        while not await pool.acquire(1):
            await clock.sleep(wait)
            wait = min(0.25, wait * 2)
        try:
            yield
        finally:
            pool.release(1)

    def slot_pool(self) -> SlotPool | None:
        """The global slot pool of the concurrency limit (None without one)."""
        if self.concurrency is None:
            return None
        return self._pool(f"limit:{self.name}", self.concurrency)


def define_limit(
    store: Callable[[], Store],
    clock: Callable[[], Clock],
    pool: Callable[[str, int], SlotPool],
    name: str,
    **options: Any,
) -> Limit:
    """Validate ``app.limit`` options: ``rate`` (per s) and ``burst``, or ``rates=[(rate,
    per_seconds, burst), ...]``; ``concurrency`` >= 1 or None; ``key`` a default key."""
    if not isinstance(name, str) or not name or "/" in name:
        raise InvalidAttribute("name", name, "a non-empty name without '/'")
    rates: list[Rate] = []
    if options.get("rate") is not None:
        rates.append(bucket.rate(options["rate"], options.get("burst")))
    for spec in options.get("rates") or ():
        r, per, *burst = spec
        rates.append(bucket.rate(r, burst[0] if burst else None, per))
    concurrency = options.get("concurrency")
    if concurrency is not None:
        whole_number("concurrency", concurrency, 1, allowed="None or an integer >= 1")
    if not rates and concurrency is None:
        raise InvalidAttribute("rate", None, "a rate, rates or a concurrency")
    unknown = set(options) - {"rate", "burst", "rates", "concurrency", "key"}
    if unknown:
        raise InvalidAttribute(sorted(unknown)[0], options[sorted(unknown)[0]], "not an option")
    return Limit(store, clock, pool, name, rates, concurrency, options.get("key"))
