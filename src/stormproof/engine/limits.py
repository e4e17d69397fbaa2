"""Global rate and concurrency limits (``app.limit(...)``), shared by every process.

A rate limit is one state record per key, ``limit/<name>/<key>``, holding the theoretical
arrival time of each of its rates (:mod:`stormproof.core.bucket`); it changes only by
compare-and-set, so concurrent takers never admit more than the burst (no read-then-write
race). To avoid a store write per call, a process takes a *leased block* of tokens (enough
for :data:`LEASE_FOR` seconds at the rate, within the burst) and spends it locally; tokens
unspent after :data:`LEASE_FOR` seconds are dropped, so a block never turns into a late
burst. A refused take writes nothing.

The concurrency limit (a bulkhead) is a global slot pool (``stormproof.engine.slots``),
named ``limit:<name>``: leased slots, renewed while held, back on their own if a process dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from stormproof.clock import Clock
from stormproof.core import bucket
from stormproof.core.bucket import Rate
from stormproof.core.numbers import whole_number
from stormproof.engine.slots import SlotPool
from stormproof.errors import InvalidAttribute
from stormproof.storage.base import CompareAndSet, Store

LEASE_FOR = 0.1  # a leased block covers this many seconds of the rate, and expires then
CAS_ATTEMPTS = 50  # compare-and-set retries under contention (each loser re-decides)
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
        if n:
            return n
        lock = self._leasing.setdefault(sk, asyncio.Lock())
        async with lock:  # callers queued behind a lease spend its block first
            n = self._spend(sk, want)
            if n:
                return n
            now = self._clock().now()
            granted = await self._lease(sk, self._block_size(want))
            n = min(want, granted)
            self._blocks[sk] = (granted - n, now + LEASE_FOR)
            return n

    def _spend(self, sk: str, want: int) -> int:
        tokens, until = self._blocks.get(sk, (0, 0.0))
        if not tokens or self._clock().now() >= until:
            return 0
        n = min(want, tokens)
        self._blocks[sk] = (tokens - n, until)
        return n

    async def _lease(self, sk: str, block: int) -> int:
        store = self._store()
        for _ in range(CAS_ATTEMPTS):
            rec = await store.get_state(sk)
            tats = json.loads(rec.value)["tats"] if rec else [0.0] * len(self.rates)
            if len(tats) != len(self.rates):  # the rates changed: start afresh
                tats = [0.0] * len(self.rates)
            n, new, wait = bucket.grant_all(tats, self._clock().now(), self.rates, block)
            if n == 0:
                self.retry_after = wait
                return 0  # refused: nothing written
            op = CompareAndSet(sk, rec.version if rec else None, json.dumps({"tats": new}))
            if (await store.apply([op]))[0].ok:
                return n
        self.retry_after = MIN_WAIT
        return 0

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
