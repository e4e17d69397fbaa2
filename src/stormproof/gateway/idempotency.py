"""Idempotency keys (the IETF "Idempotency-Key HTTP Header Field" draft semantics).

A key is a state row ``idem:<route>:<client>:<sha256(key)>`` written in the same unit of
work as the request it answers, holding the body's fingerprint and the response. So a
retry with the same key and body gets the stored response, and one with another body is
refused; both survive a restart. Keys are scoped per route and per client (API key), so
one client cannot read another's response by guessing its key.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from stormproof.storage.base import CompareAndSet, StateRecord

PREFIX = "idem:"
MAX_KEY_LENGTH = 255
DEFAULT_RETENTION = 86_400.0


def fingerprint(payload: Any) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no spaces) of a parsed body."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def key_of(route: str, client: str, key: str) -> str:
    """The state key of an idempotency key (hashed: keys are client-chosen text)."""
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{PREFIX}{route}:{client}:{digest}"


@dataclass(frozen=True)
class StoredResponse:
    """The response recorded under a key."""

    fingerprint: str
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    created: float

    def to_json(self) -> str:
        """The stored value."""
        return json.dumps(self.__dict__, separators=(",", ":"))

    @classmethod
    def from_record(cls, record: StateRecord) -> StoredResponse:
        """Parse a stored key."""
        return cls(**json.loads(record.value))

    def insert_op(self, state_key: str) -> CompareAndSet:
        """The operation recording the key (the unit rolls back if the key exists)."""
        return CompareAndSet(state_key, None, self.to_json())
