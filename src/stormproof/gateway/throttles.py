"""Throttles applied as API Gateway does: per client and route, then route, then account.

Buckets live in this process (a store round trip per request would cost what throttling
protects); with several API processes each enforces the limits on its own share of the
traffic. The arithmetic is :mod:`stormproof.core.token_bucket`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from stormproof.clock import Clock
from stormproof.core.token_bucket import Bucket, BucketLimits, take
from stormproof.errors import TooManyRequests


class Throttles:
    """Named token buckets; ``admit`` takes a token from each level or refuses."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._buckets: dict[str, Bucket] = {}
        self._lock = threading.Lock()  # admit is called from the event loop only; cheap

    def admit(self, levels: Sequence[tuple[str, BucketLimits | None]]) -> None:
        """Take one token at every level (most specific first) or raise TooManyRequests.

        A refusal at one level takes nothing from the levels after it; tokens already
        taken at the levels before it are kept taken, as API Gateway counts a throttled
        request against the limits it passed.
        """
        now = self.clock.now()
        with self._lock:
            for name, limits in levels:
                if limits is None:
                    continue
                bucket = self._buckets.get(name) or Bucket.full(limits, now)
                decision = take(limits, bucket, now)
                self._buckets[name] = decision.bucket
                if not decision.allowed:
                    raise TooManyRequests(
                        f"the {name} limit of {limits.rate:g} requests/s "
                        f"(burst {limits.burst}) is exceeded",
                        retry_after=decision.retry_after,
                        limit=name,
                    )
