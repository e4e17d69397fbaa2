"""Recent activity of a function or a queue, kept as small time buckets: pure.

Every process counts what it did (invocations, errors, throttles, durations of a
function; messages a mapping consumed from a queue) and merges its counts into one stored
record per object. A record holds at most ``KEPT`` buckets of ``BUCKET`` seconds (15
minutes); older buckets are dropped on every merge. Durations are counted in fixed
buckets (``EDGES``, milliseconds), so percentiles are upper bounds of a bucket and merge
across processes by addition.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from typing import Any

BUCKET = 10.0  # seconds per time bucket
KEPT = 90  # time buckets kept: 15 minutes
EDGES = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000, 900_000)
# a tally: [count, errors, throttles, *duration buckets (len(EDGES) + 1: the last is "more")]
WIDTH = 3 + len(EDGES) + 1


def slot(at: float) -> int:
    """The start (whole seconds) of the time bucket ``at`` falls in."""
    return int(at // BUCKET * BUCKET)


def empty() -> list[int]:
    """A tally with nothing counted."""
    return [0] * WIDTH


def count(
    tally: list[int],
    *,
    error: bool = False,
    throttled: bool = False,
    duration: float | None = None,
    n: int = 1,
) -> None:
    """Add one event (``n`` items) to ``tally``: an invocation, a throttle or messages."""
    if throttled:
        tally[2] += n
        return
    tally[0] += n
    tally[1] += n if error else 0
    if duration is not None:
        tally[3 + bisect.bisect_left(EDGES, duration * 1000.0)] += 1


def merge(
    stored: Mapping[str, Any] | None, add: Mapping[int, Sequence[int]], now: float
) -> dict[str, Any]:
    """``stored`` (``{"b": {start: tally}}``) plus ``add``, without buckets older than
    ``KEPT`` buckets before ``now``."""
    oldest = slot(now) - (KEPT - 1) * BUCKET
    buckets: dict[str, list[int]] = {}
    for start, tally in ((stored or {}).get("b") or {}).items():
        if int(start) >= oldest:
            buckets[str(start)] = [int(v) for v in tally]
    for start, tally in add.items():
        if start < oldest:
            continue
        mine = buckets.setdefault(str(start), empty())
        for i, v in enumerate(tally):
            mine[i] += int(v)
    return {"b": buckets}


def series(stored: Mapping[str, Any] | None, now: float, points: int = 30) -> list[int]:
    """Items counted per time bucket, the last ``points`` buckets up to ``now``, oldest first."""
    buckets = (stored or {}).get("b") or {}
    last = slot(now)
    starts = [int(last - (points - 1 - i) * BUCKET) for i in range(points)]
    return [int(buckets.get(str(s), empty())[0]) for s in starts]


def totals(stored: Mapping[str, Any] | None) -> list[int]:
    """Every kept bucket added up."""
    out = empty()
    for tally in ((stored or {}).get("b") or {}).values():
        for i, v in enumerate(tally):
            out[i] += int(v)
    return out


def percentile(tally: Sequence[int], q: float) -> float | None:
    """The ``q`` (0-1) duration percentile in seconds, as its bucket's upper edge (None
    without durations; the last bucket, above every edge, reports the top edge)."""
    hist = list(tally[3:])
    seen = sum(hist)
    if not seen:
        return None
    rank, running = max(1.0, q * seen), 0
    for i, n in enumerate(hist):
        running += n
        if running >= rank:
            return EDGES[min(i, len(EDGES) - 1)] / 1000.0
    return EDGES[-1] / 1000.0  # pragma: no cover - running reaches seen


TRANSITIONS_KEPT = 20  # per breaker
SAME_WITHIN = 5.0  # seconds: every process seeing one change reports it; keep one


def add_transitions(
    stored: Mapping[str, Any] | None, items: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """A breaker's kept transitions (``{"t": [{at, from, to, reason}, ...]}``, oldest
    first) plus ``items``, without the copies other processes reported of the same change,
    the newest ``TRANSITIONS_KEPT`` kept."""
    kept = [dict(t) for t in ((stored or {}).get("t") or [])]
    for item in sorted(items, key=lambda i: float(i["at"])):
        same = [
            t
            for t in kept[-5:]
            if (t["from"], t["to"], t["reason"]) == (item["from"], item["to"], item["reason"])
            and abs(float(t["at"]) - float(item["at"])) < SAME_WITHIN
        ]
        if not same:
            kept.append(dict(item))
    kept.sort(key=lambda t: float(t["at"]))
    return {"t": kept[-TRANSITIONS_KEPT:]}
