"""Token-bucket throttling as API Gateway applies it (pure: ``now`` is an argument).

``rate`` tokens per second refill a bucket of capacity ``burst``; a request takes one
token. A full bucket serves ``burst`` requests at once, then ``rate`` per second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from stormproof.core.numbers import whole_number
from stormproof.errors import InvalidAttribute

MAX_RATE = 1_000_000.0


@dataclass(frozen=True)
class BucketLimits:
    """A throttle setting: ``rate`` (requests/s, > 0) and ``burst`` (capacity, >= 1)."""

    rate: float
    burst: int

    def __post_init__(self) -> None:
        if isinstance(self.rate, bool) or not isinstance(self.rate, int | float):
            raise InvalidAttribute("throttle.rate", self.rate, f"a number in (0, {MAX_RATE:g}]")
        if not 0 < self.rate <= MAX_RATE or math.isnan(self.rate):
            raise InvalidAttribute("throttle.rate", self.rate, f"a number in (0, {MAX_RATE:g}]")
        whole_number("throttle.burst", self.burst, 1)


@dataclass(frozen=True)
class Bucket:
    """A bucket's fill ``tokens`` as of ``updated`` (epoch seconds)."""

    tokens: float
    updated: float

    @classmethod
    def full(cls, limits: BucketLimits, now: float) -> Bucket:
        """A new bucket starts full (API Gateway serves a burst at once)."""
        return cls(float(limits.burst), now)


@dataclass(frozen=True)
class Decision:
    """The outcome of one take: the new bucket and, when refused, seconds to wait."""

    bucket: Bucket
    allowed: bool
    retry_after: float


def refill(limits: BucketLimits, bucket: Bucket, now: float) -> Bucket:
    """The bucket at ``now``: refilled at ``rate`` up to ``burst`` (time never runs back)."""
    elapsed = max(0.0, now - bucket.updated)
    tokens = min(float(limits.burst), bucket.tokens + elapsed * limits.rate)
    return Bucket(tokens, max(now, bucket.updated))


def take(limits: BucketLimits, bucket: Bucket, now: float, cost: float = 1.0) -> Decision:
    """Take ``cost`` tokens if the bucket holds them; else refuse with the wait for them."""
    current = refill(limits, bucket, now)
    if current.tokens >= cost:
        return Decision(Bucket(current.tokens - cost, current.updated), True, 0.0)
    missing = min(cost, float(limits.burst)) - current.tokens
    return Decision(current, False, max(0.0, missing / limits.rate))
