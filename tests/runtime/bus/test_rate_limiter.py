"""An HTTP target's rate limiter is paced by the runtime's clock (a fake one here)."""

from __future__ import annotations

import asyncio

from stormproof.bus.targets import RateLimiter
from stormproof.testing import FakeClock


async def test_a_full_bucket_then_one_token_per_interval() -> None:
    clock, limiter = FakeClock(), RateLimiter(2)
    await limiter.acquire(clock)
    await limiter.acquire(clock)
    third = asyncio.ensure_future(limiter.acquire(clock))
    await asyncio.sleep(0)
    assert not third.done()
    clock.advance(0.5)
    await asyncio.wait_for(third, 5)


async def test_a_clock_stepping_back_does_not_drain_the_bucket() -> None:
    clock, limiter = FakeClock(), RateLimiter(1)
    await limiter.acquire(clock)
    clock._now -= 100  # a wall clock stepped back
    waiting = asyncio.ensure_future(limiter.acquire(clock))
    await asyncio.sleep(0)
    clock.advance(1.0)
    await asyncio.wait_for(waiting, 5)
