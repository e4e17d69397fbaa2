"""Retry and Catch: which retrier or catcher handles an error, and how long to wait.

Each retrier keeps its own attempt counter for the whole visit to the state
(the counters live in the execution state, so they survive a crash). Only the
first retrier whose ``ErrorEquals`` matches is considered; when it is
exhausted the error goes to the catchers, never to a later retrier.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stormproof.core.asl.failure import UNCATCHABLE
from stormproof.core.asl.random_source import RandomSource

DEFAULT_INTERVAL_SECONDS = 1.0
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_BACKOFF_RATE = 2.0


def error_matches(error_equals: list[str], error: str | None) -> bool:
    """True when ``error`` is named by ``error_equals`` (``States.ALL`` included)."""
    name = error or ""
    if name in UNCATCHABLE:
        return False
    for candidate in error_equals:
        if candidate in ("States.ALL", name):
            return True
        # Any error a task raises (not a States.* one) is a task failure.
        if candidate == "States.TaskFailed" and not name.startswith("States."):
            return True
    return False


@dataclass(frozen=True)
class RetryDecision:
    """Retry with retrier ``index`` after ``delay`` seconds; ``attempt`` counts from 1."""

    index: int
    attempt: int
    delay: float


def backoff_delay(retrier: dict[str, Any], attempt: int, rng: RandomSource) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based).

    ``IntervalSeconds * BackoffRate ** (attempt - 1)``, capped by
    ``MaxDelaySeconds``, then drawn uniformly from [0, delay) with
    ``JitterStrategy: FULL``.
    """
    interval = float(retrier.get("IntervalSeconds", DEFAULT_INTERVAL_SECONDS))
    rate = float(retrier.get("BackoffRate", DEFAULT_BACKOFF_RATE))
    delay = interval * rate ** (attempt - 1)
    cap = retrier.get("MaxDelaySeconds")
    if cap is not None:
        delay = min(delay, float(cap))
    if retrier.get("JitterStrategy", "NONE") == "FULL":
        delay = rng.random() * delay
    return delay


def decide_retry(
    retriers: list[dict[str, Any]],
    counts: list[int],
    error: str | None,
    rng: RandomSource,
) -> RetryDecision | None:
    """The retry to make for ``error`` given each retrier's attempts so far, or None."""
    for index, retrier in enumerate(retriers):
        if not error_matches(retrier.get("ErrorEquals", []), error):
            continue
        used = counts[index] if index < len(counts) else 0
        if used >= int(retrier.get("MaxAttempts", DEFAULT_MAX_ATTEMPTS)):
            return None
        return RetryDecision(index, used + 1, backoff_delay(retrier, used + 1, rng))
    return None


def find_catcher(catchers: list[dict[str, Any]], error: str | None) -> dict[str, Any] | None:
    """The first catcher whose ``ErrorEquals`` names ``error``, or None."""
    for catcher in catchers:
        if error_matches(catcher.get("ErrorEquals", []), error):
            return catcher
    return None
