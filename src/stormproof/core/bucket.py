"""Rate-limit arithmetic: GCRA (the generic cell rate algorithm), pure.

A rate of ``rate`` calls per ``per`` seconds with a ``burst`` is one number per key, the
*theoretical arrival time* (TAT): the time at which the bucket would be full again. Taking
``n`` tokens moves it ``n`` emission intervals (``per / rate``) later; a take is allowed while
the TAT stays within ``burst`` intervals of now. This is a token bucket of capacity
``burst`` refilled at ``rate / per``, kept as one float, so a store can change it with one
compare-and-set.

:func:`grant` gives *as many tokens as allowed, up to* ``want``: a process takes a block of
tokens in one write (a leased allotment) and spends them locally. Several rates may apply to
one key (50/s and 10,000/h): :func:`grant_all` grants what every one of them allows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from stormproof.errors import InvalidAttribute

EPSILON = 1e-6  # token slack: TATs are epoch seconds (~1.7e9), whose floats round at ~2e-7 s


@dataclass(frozen=True)
class Rate:
    """``rate`` tokens per ``per`` seconds, up to ``burst`` at once."""

    rate: float
    burst: int
    per: float = 1.0

    @property
    def interval(self) -> float:
        """Seconds between two tokens at the sustained rate."""
        return self.per / self.rate


def rate(rate: object, burst: object = None, per: object = 1.0) -> Rate:
    """A validated :class:`Rate` (``burst`` defaults to ``max(1, rate)`` rounded down)."""
    ok = isinstance(rate, int | float) and not isinstance(rate, bool) and math.isfinite(rate)
    if not ok or rate <= 0:  # type: ignore[operator]
        raise InvalidAttribute("rate", rate, "a number > 0 (tokens per period)")
    r = float(rate)  # type: ignore[arg-type]
    if not isinstance(per, int | float) or isinstance(per, bool) or not 0 < per < math.inf:
        raise InvalidAttribute("per", per, "seconds > 0")
    if burst is None:
        burst = max(1, int(r))
    if not isinstance(burst, int) or isinstance(burst, bool) or burst < 1:
        raise InvalidAttribute("burst", burst, "an integer >= 1")
    return Rate(r, burst, float(per))


@dataclass(frozen=True)
class Grant:
    """``granted`` tokens (maybe 0); the new TAT to store; when refused, ``retry_after``."""

    granted: int
    tat: float
    retry_after: float = 0.0


def available(tat: float, now: float, r: Rate) -> int:
    """How many tokens could be taken now."""
    base = max(tat, now)
    room = r.burst * r.interval - (base - now)
    return max(0, min(r.burst, math.floor(room / r.interval + EPSILON)))


def grant(tat: float, now: float, r: Rate, want: int) -> Grant:
    """Take up to ``want`` tokens."""
    n = min(max(0, want), available(tat, now, r))
    if n == 0:
        return Grant(0, tat, retry_after=retry_after(tat, now, r) if want > 0 else 0.0)
    return Grant(n, max(tat, now) + n * r.interval)


def retry_after(tat: float, now: float, r: Rate) -> float:
    """Seconds until one token is available (0 if one is now)."""
    base = max(tat, now)
    return max(0.0, base + r.interval - now - r.burst * r.interval)


def grant_all(
    tats: Sequence[float], now: float, rates: Sequence[Rate], want: int
) -> tuple[int, list[float], float]:
    """Take up to ``want`` tokens allowed by every rate: (granted, new TATs, retry_after)."""
    n = max(0, want)
    for tat, r in zip(tats, rates, strict=True):
        n = min(n, available(tat, now, r))
    if n == 0:
        wait = max((retry_after(t, now, r) for t, r in zip(tats, rates, strict=True)), default=0.0)
        return 0, list(tats), wait if want > 0 else 0.0
    new = [grant(t, now, r, n).tat for t, r in zip(tats, rates, strict=True)]
    return n, new, 0.0
