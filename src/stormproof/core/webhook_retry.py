"""What to do after a webhook delivery attempt (pure: randomness is an argument).

Standard Webhooks' rules: ``2xx`` is delivered; ``410 Gone`` disables the endpoint;
``429``, ``5xx`` and transport failures (``status`` None) retry on the schedule with full
jitter; other ``4xx`` fail at once. After the schedule is used up the delivery is
dead-lettered.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_SCHEDULE = (0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


@dataclass(frozen=True)
class Verdict:
    """``delivered``, ``retry`` (after ``delay`` s), ``failed`` or ``disable``."""

    action: str
    delay: float = 0.0


def after_attempt(
    attempt: int, status: int | None, schedule: Sequence[float], rng: random.Random
) -> Verdict:
    """The verdict after attempt number ``attempt`` (1-based) answered ``status``."""
    if status is not None and 200 <= status < 300:
        return Verdict("delivered")
    if status == 410:
        return Verdict("disable")
    if status is not None and 400 <= status < 500 and status != 429:
        return Verdict("failed")
    if attempt >= len(schedule):
        return Verdict("failed")
    # schedule[attempt] is the wait before attempt number attempt + 1 (schedule[0]: the
    # first try is immediate). Full jitter: anywhere up to the nominal wait.
    nominal = schedule[attempt]
    return Verdict("retry", rng.uniform(0.0, nominal) if nominal > 0 else 0.0)
