"""API keys: ``x-api-key``, generated with :mod:`secrets`, shown once, stored as a hash.

A key is 256 random bits, so a fast keyed hash (BLAKE2b, keyed with a fixed domain string)
is as good as a slow password hash: nobody can guess a preimage. The record is the state
row ``api-key:<hash>`` holding its id (``key_...``, safe to print and to revoke by), name,
usage plan, allowed routes (empty: every route) and whether it is revoked.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

from stormproof.errors import InvalidAttribute
from stormproof.gateway.plans import get_plan
from stormproof.storage.base import CompareAndSet, Store

PREFIX = "api-key:"
SECRET_PREFIX = "sp_"
_HASH_KEY = b"stormproof api key v1"


def hash_key(secret: str) -> str:
    """The stored digest of a key."""
    return hashlib.blake2b(secret.encode(), key=_HASH_KEY, digest_size=32).hexdigest()


@dataclass
class ApiKey:
    """One key's record (never its secret)."""

    id: str
    name: str
    digest: str
    created: float
    plan: str | None = None
    routes: list[str] = field(default_factory=list)
    revoked: bool = False

    def allows(self, route: str) -> bool:
        """Whether the key may call ``route`` (an unscoped key may call any)."""
        return not self.revoked and (not self.routes or route in self.routes)

    def to_json(self) -> str:
        """The stored value."""
        return json.dumps(asdict(self), separators=(",", ":"))

    def describe(self) -> dict[str, Any]:
        """The key without its digest (CLI output)."""
        body = asdict(self)
        del body["digest"]
        return body


async def create_key(
    store: Store,
    name: str,
    now: float,
    *,
    plan: str | None = None,
    routes: list[str] | None = None,
) -> tuple[ApiKey, str]:
    """A new key: ``(record, secret)``; the secret is not stored and cannot be shown again."""
    if not isinstance(name, str) or not 1 <= len(name) <= 128:
        raise InvalidAttribute("name", name, "1-128 characters")
    if plan is not None and await get_plan(store, plan) is None:
        raise InvalidAttribute("plan", plan, "an existing usage plan (stormproof plans ls)")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey("key_" + secrets.token_hex(8), name, hash_key(secret), now, plan, routes or [])
    await store.apply([CompareAndSet(PREFIX + key.digest, None, key.to_json())], atomic=True)
    return key, secret


async def find_key(store: Store, secret: str) -> ApiKey | None:
    """The record of a presented key (None if unknown)."""
    found = await store.get_state(PREFIX + hash_key(secret))
    return ApiKey(**json.loads(found.value)) if found else None


async def list_keys(store: Store) -> list[ApiKey]:
    """Every key, oldest first."""
    keys = [ApiKey(**json.loads(r.value)) for r in await store.list_states(PREFIX)]
    return sorted(keys, key=lambda k: (k.created, k.id))


async def update_key(store: Store, key_id: str, **changes: Any) -> ApiKey:
    """Change a key found by id (``revoked=True``, ``plan=...``); raises if there is none."""
    for rec in await store.list_states(PREFIX):
        key = ApiKey(**json.loads(rec.value))
        if key.id != key_id:
            continue
        if changes.get("plan") is not None and await get_plan(store, changes["plan"]) is None:
            raise InvalidAttribute("plan", changes["plan"], "an existing usage plan")
        for name, value in changes.items():
            setattr(key, name, value)
        [result] = await store.apply([CompareAndSet(rec.key, rec.version, key.to_json())])
        if not result.ok:
            raise InvalidAttribute("key", key_id, "a key not being changed concurrently")
        return key
    raise InvalidAttribute("key", key_id, "the id of an existing key (stormproof keys ls)")
