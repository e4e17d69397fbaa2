"""Exponential backoff with a cap and jitter.

The four strategies are those of the AWS Architecture blog post "Exponential
Backoff And Jitter" (Marc Brooker, 2015). With ``n`` the zero-based attempt
number, ``base`` the first delay and ``cap`` the ceiling::

    exp          = min(cap, base * 2**n)
    none         = exp
    full         = uniform(0, exp)
    equal        = exp / 2 + uniform(0, exp / 2)
    decorrelated = min(cap, uniform(base, 3 * previous))   # previous starts at base

``decorrelated`` ignores ``n`` and grows from the previous delay instead, so the
caller keeps the last delay it used and passes it back as ``previous``.

Randomness is an argument (a ``random.Random`` or a zero-argument callable
returning a float in ``[0, 1)``), so every delay is reproducible in tests.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from enum import StrEnum

from stormproof.errors import InvalidAttribute

RandomSource = random.Random | Callable[[], float]
"""Where jitter comes from: ``random.Random`` or a callable returning ``[0, 1)``."""


class Jitter(StrEnum):
    """The jitter strategy applied on top of capped exponential growth."""

    NONE = "none"
    FULL = "full"
    EQUAL = "equal"
    DECORRELATED = "decorrelated"


def unit(rng: RandomSource) -> float:
    """Draw one float in ``[0, 1)`` from ``rng``."""
    value = rng.random() if isinstance(rng, random.Random) else rng()
    if not 0.0 <= value < 1.0:
        # A broken source would silently break every bound below; fail loudly instead.
        raise InvalidAttribute("rng", value, "a random source returning floats in [0, 1)")
    return value


def uniform(rng: RandomSource, low: float, high: float) -> float:
    """Draw a float in ``[low, high]`` (``low`` when the interval is empty)."""
    if high <= low:
        return low
    return min(high, low + (high - low) * unit(rng))


def exponential(attempt: int, *, base: float, cap: float) -> float:
    """``min(cap, base * 2**attempt)``, without overflowing for huge attempts."""
    try:
        raw = base * 2.0**attempt
    except OverflowError:
        # 2.0**attempt overflows past ~1024; the cap has long been reached by then.
        return cap
    return min(cap, raw)


def delay(
    attempt: int,
    *,
    base: float,
    cap: float,
    jitter: Jitter,
    rng: RandomSource,
    previous: float | None = None,
) -> float:
    """The delay in seconds before retry number ``attempt`` (0 = the first retry).

    ``previous`` is only read by ``Jitter.DECORRELATED``: the delay used last
    time (``None`` for the first retry, which behaves as ``previous = base``).
    Raises ``InvalidAttribute`` for a negative attempt, a negative base or a cap
    below the base.
    """
    _validate(attempt, base, cap, previous)
    if jitter is Jitter.DECORRELATED:
        last = base if previous is None else previous
        return min(cap, uniform(rng, base, max(base, 3.0 * last)))
    ceiling = exponential(attempt, base=base, cap=cap)
    if jitter is Jitter.FULL:
        return uniform(rng, 0.0, ceiling)
    if jitter is Jitter.EQUAL:
        half = ceiling / 2.0
        return min(ceiling, half + uniform(rng, 0.0, half))
    return ceiling


def _validate(attempt: int, base: float, cap: float, previous: float | None) -> None:
    if attempt < 0:
        raise InvalidAttribute("attempt", attempt, "an integer >= 0")
    if not base >= 0.0:  # written this way so NaN is rejected too
        raise InvalidAttribute("base", base, "a number of seconds >= 0")
    if not cap >= base:
        raise InvalidAttribute("cap", cap, f"a number of seconds >= base ({base})")
    if previous is not None and not previous >= 0.0:
        raise InvalidAttribute("previous", previous, "a number of seconds >= 0, or None")
