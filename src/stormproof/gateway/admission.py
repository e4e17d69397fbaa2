"""Admission of a request before any work: its API key, then throttles, then its quota.

The ``x-api-key`` header names a key (:mod:`stormproof.gateway.keys`); a route declared
with ``api_key_required=True`` refuses (403) a request without a valid key, and any route
refuses an unknown, revoked or out-of-scope key. The key's usage plan adds a per-client
throttle (before the route's and the account's, as API Gateway orders them) and a quota.
Keys and plans are cached in the process for :data:`CACHE_SECONDS`: a revocation or a plan
change takes effect within that long.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from stormproof.clock import Clock
from stormproof.core.token_bucket import BucketLimits
from stormproof.errors import Forbidden
from stormproof.gateway.keys import ApiKey, find_key, hash_key
from stormproof.gateway.plans import UsagePlan, get_plan
from stormproof.gateway.quotas import QuotaLedger
from stormproof.gateway.throttles import Level, Throttles
from stormproof.storage.base import Store

CACHE_SECONDS = 5.0
MAX_CACHED = 10_000


@dataclass(frozen=True)
class Client:
    """The caller as admitted: its key (None: anonymous) and the key's plan."""

    key: ApiKey | None
    plan: UsagePlan | None


class Admission:
    """Checks keys, throttles and quotas for one front door."""

    def __init__(self, store: Callable[[], Store], clock: Clock, account: BucketLimits) -> None:
        self._store = store
        self.clock = clock
        self.account = account
        self.throttles = Throttles(store, clock)
        self.quotas = QuotaLedger(store, clock)
        self._cache: dict[str, tuple[float, Client]] = {}

    async def admit(
        self,
        path: str,
        limits: BucketLimits | None,
        key_required: bool,
        headers: Mapping[str, str],
    ) -> Client:
        """The admitted client, or raise Forbidden / TooManyRequests / QuotaExceeded."""
        secret = headers.get("x-api-key")
        client = await self._client(secret) if secret else Client(None, None)
        if secret and (client.key is None or not client.key.allows(path)):
            raise Forbidden(
                "the API key is unknown, revoked or not valid for this route", route=path
            )
        if key_required and client.key is None:
            raise Forbidden("this route requires an x-api-key header", route=path)
        levels: list[Level] = []
        if client.key is not None and client.plan is not None:
            levels.append(("usage plan", "api-client", client.key.id, client.plan.throttle))
        levels.append(("route", "api-route", path, limits))
        levels.append(("account", "api-account", "", self.account))
        await self.throttles.admit(levels)
        if client.key is not None and client.plan is not None and client.plan.quota is not None:
            await self.quotas.spend(client.key.id, client.plan.quota)
        return client

    async def _client(self, secret: str) -> Client:
        digest = hash_key(secret)
        now = self.clock.now()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        store = self._store()
        key = await find_key(store, secret)
        plan = await get_plan(store, key.plan) if key is not None and key.plan else None
        if len(self._cache) >= MAX_CACHED:  # unknown keys must not grow memory without bound
            self._cache.clear()
        client = Client(key, plan)
        self._cache[digest] = (now + CACHE_SECONDS, client)
        return client
