"""Idempotent functions: the pure decisions over one key's record.

``@app.function(idempotency=dict(key="$.detail.booking_id", expires_after=3600,
payload_validation="$.detail.amount"))``: a call whose event has a key is run at most once
per key while its record lives. The record is a small JSON document::

    {"status": "in_progress" | "completed", "until": <lease end or expiry>,
     "payload": <hash of the validated part>, "result": <the handler's result>}

An in-progress record is a lease tied to the function's timeout: if its holder dies, it
expires with the lease and the next call runs (never stuck for ever, never a duplicate let
through while the holder may still be running).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from stormproof.core.eventpath import MISSING, EventPath
from stormproof.errors import InvalidAttribute

GRACE = 1.0  # an in-progress lease outlives the timeout by this much (the timeout's own race)


@dataclass(frozen=True)
class Idempotency:
    """A function's validated ``idempotency=`` option."""

    key: EventPath
    expires_after: float = 3600.0
    payload_validation: EventPath | None = None


def config(spec: object) -> Idempotency | None:
    """Validate ``idempotency=dict(key=..., expires_after=..., payload_validation=...)``."""
    if spec is None:
        return None
    if not isinstance(spec, dict) or "key" not in spec:
        raise InvalidAttribute("idempotency", spec, "None or a dict with a 'key' JSONPath")
    unknown = set(spec) - {"key", "expires_after", "payload_validation"}
    if unknown:
        field = sorted(unknown)[0]
        raise InvalidAttribute(f"idempotency.{field}", spec[field], "not an option")
    key = EventPath.parse(spec["key"], field="idempotency.key")
    expires = spec.get("expires_after", 3600)
    ok = isinstance(expires, int | float) and not isinstance(expires, bool)
    if not ok or not math.isfinite(expires) or not 1 <= expires <= 30 * 86400:
        raise InvalidAttribute("idempotency.expires_after", expires, "1 to 2,592,000 seconds")
    check = spec.get("payload_validation")
    path = None if check is None else EventPath.parse(check, field="idempotency.payload_validation")
    return Idempotency(key, float(expires), path)


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def key_of(cfg: Idempotency, event: Any) -> str | None:
    """The record key's hash for ``event`` (None: the event has no key; it runs as usual)."""
    value = cfg.key.resolve(event)
    return None if value is MISSING or value is None else _digest(value)


def payload_of(cfg: Idempotency, event: Any) -> str | None:
    """The hash of the validated part of ``event`` (None: not validated)."""
    if cfg.payload_validation is None:
        return None
    value = cfg.payload_validation.resolve(event)
    return _digest(None if value is MISSING else value)


class Verdict(StrEnum):
    """What to do with a call, given its key's record."""

    RUN = "run"  # no live record: take the lease and run
    REPLAY = "replay"  # completed: return the stored result, do not run
    IN_PROGRESS = "in_progress"  # another call holds the lease: wait or refuse
    MISMATCH = "mismatch"  # the same key with a different validated payload


def decide(record: dict[str, Any] | None, now: float, payload: str | None) -> Verdict:
    """The verdict for a call at ``now`` whose validated payload hashes to ``payload``."""
    if record is None or float(record.get("until", 0)) <= now:
        return Verdict.RUN  # absent, expired, or a dead holder's lease ran out
    if payload is not None and record.get("payload") not in (None, payload):
        return Verdict.MISMATCH
    if record.get("status") == "completed":
        return Verdict.REPLAY
    return Verdict.IN_PROGRESS


def in_progress(now: float, timeout: float, payload: str | None, holder: str) -> dict[str, Any]:
    """The record a call (``holder``) writes as it takes the lease."""
    return {
        "status": "in_progress",
        "until": now + timeout + GRACE,
        "payload": payload,
        "holder": holder,
    }


def completed(now: float, cfg: Idempotency, payload: str | None, result: Any) -> dict[str, Any]:
    """The record of a completed call (kept ``expires_after`` seconds)."""
    return {
        "status": "completed",
        "until": now + cfg.expires_after,
        "payload": payload,
        "result": result,
    }
