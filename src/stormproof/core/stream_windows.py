"""Pure rules of a stream mapping's tumbling windows (Lambda's ``TumblingWindowInSeconds``).

A record belongs to the window ``[k*W, (k+1)*W)`` holding its approximate arrival time. A
batch never spans two windows; the state a function returns is passed to the next
invocation of the same window and shard, and once the window is over the function is
invoked a last time with ``isFinalInvokeForWindow``. A state over 1 MB (as JSON) ends its
window early (``isWindowTerminatedEarly``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

MAX_STATE_BYTES = 1024 * 1024


def window_start(arrival: float, size: float) -> float:
    """The start of the window of ``size`` seconds that holds ``arrival``."""
    return math.floor(arrival / size) * size


def same_window(arrivals: Sequence[float], size: float) -> int:
    """How many leading records share the first record's window."""
    if not arrivals:
        return 0
    start = window_start(arrivals[0], size)
    count = 0
    for arrival in arrivals:
        if window_start(arrival, size) != start:
            break
        count += 1
    return count


def closing(
    start: float | None, size: float, next_arrival: float | None, now: float, early: bool
) -> bool:
    """Whether the open window (``start``) is over: ended early, or its end has passed and
    the next unread record (if any) belongs to a later window."""
    if start is None:
        return False
    if early:
        return True
    end = start + size
    return now >= end and (next_arrival is None or next_arrival >= end)


def returned_state(response: Any) -> dict[str, Any]:
    """The ``state`` of a function's response (an object), or an empty one."""
    state = response.get("state") if isinstance(response, dict) else None
    return state if isinstance(state, dict) else {}


def too_big(state: dict[str, Any]) -> bool:
    """Whether a state is over the 1 MB limit (as JSON)."""
    return len(json.dumps(state).encode()) > MAX_STATE_BYTES
