"""Load-shedding decisions, pure: stale messages and shuffle-shard assignment.

* ``max_message_age``: a message older than that when a consumer claims it is not
  processed (stale work is not done late) but moved to a named queue, or dropped when the
  mapping says so. :func:`stale` decides; the consumer acts.
* Shuffle sharding: each key (tenant) is routed permanently to its own combination of
  ``per_key`` of ``queues`` queues, so a noisy key hurts only the keys that share *all* its
  queues. :func:`shard_of` decides from a stable hash of the key (not Python's ``hash``,
  which changes between processes).
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Sequence

from stormproof.errors import InvalidAttribute

MAX_SHARD_QUEUES = 64  # combinations are enumerated: keep them few


def check_max_age(value: object) -> float | None:
    """A validated ``max_message_age`` (seconds >= 1, at most 14 days) or None."""
    if value is None:
        return None
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not 1 <= value <= 14 * 86400:  # type: ignore[operator]
        raise InvalidAttribute("max_message_age", value, "None or 1 to 1,209,600 seconds")
    return float(value)  # type: ignore[arg-type]


def stale(sent_at: float, now: float, max_age: float | None) -> bool:
    """Whether a message sent at ``sent_at`` is too old to process at ``now``."""
    return max_age is not None and now - sent_at > max_age


def check_shards(queues: object, per_key: object) -> tuple[int, int]:
    """Validated ``queues`` (2 to 64) and ``per_key`` (1 to queues - 1)."""
    if isinstance(queues, bool) or not isinstance(queues, int):
        raise InvalidAttribute("queues", queues, f"an integer from 2 to {MAX_SHARD_QUEUES}")
    if not 2 <= queues <= MAX_SHARD_QUEUES:
        raise InvalidAttribute("queues", queues, f"an integer from 2 to {MAX_SHARD_QUEUES}")
    if isinstance(per_key, bool) or not isinstance(per_key, int) or not 1 <= per_key < queues:
        raise InvalidAttribute("per_key", per_key, f"an integer from 1 to {queues - 1}")
    return queues, per_key


def combinations(queues: int, per_key: int) -> int:
    """How many distinct shards (combinations of queues) there are."""
    return math.comb(queues, per_key)


def shard_of(key: str, queues: int, per_key: int) -> tuple[int, ...]:
    """The queue indexes of ``key``'s shard: stable across processes and runs."""
    digest = hashlib.sha256(key.encode()).digest()
    n = int.from_bytes(digest[:8], "big") % combinations(queues, per_key)
    return _nth_combination(queues, per_key, n)


def _nth_combination(queues: int, per_key: int, n: int) -> tuple[int, ...]:
    """The ``n``-th ``per_key``-combination of ``range(queues)`` in lexicographic order."""
    out: list[int] = []
    start = 0
    for left in range(per_key, 0, -1):
        for i in range(start, queues):
            count = math.comb(queues - i - 1, left - 1)
            if n < count:
                out.append(i)
                start = i + 1
                break
            n -= count
    return tuple(out)


def pick(shard: Sequence[int], backlogs: Sequence[int]) -> int:
    """Of a key's shard, the queue to send to: the one with the smallest backlog (ties: the
    first), so a key spreads over its own queues and never over anyone else's."""
    return min(shard, key=lambda i: (backlogs[i], shard.index(i)))


def all_shards(queues: int, per_key: int) -> list[tuple[int, ...]]:
    """Every shard, in :func:`shard_of`'s order (for tests and docs)."""
    return list(itertools.combinations(range(queues), per_key))


def check_surge(spec: object) -> tuple[int | None, float | None]:
    """Validated ``surge=dict(backlog=..., oldest_age=..., to=...)`` thresholds (``to`` is
    checked by the caller): at least one of them, each > 0."""
    if not isinstance(spec, dict) or "to" not in spec:
        raise InvalidAttribute("surge", spec, "None or dict(backlog=N, oldest_age=S, to=queue)")
    unknown = set(spec) - {"backlog", "oldest_age", "to"}
    if unknown:
        field = sorted(unknown)[0]
        raise InvalidAttribute(f"surge.{field}", spec[field], "not an option")
    backlog, age = spec.get("backlog"), spec.get("oldest_age")
    if backlog is not None and (
        isinstance(backlog, bool) or not isinstance(backlog, int) or backlog < 1
    ):
        raise InvalidAttribute("surge.backlog", backlog, "None or an integer >= 1")
    ok = isinstance(age, int | float) and not isinstance(age, bool) and math.isfinite(age)
    if age is not None and (not ok or age <= 0):
        raise InvalidAttribute("surge.oldest_age", age, "None or seconds > 0")
    if backlog is None and age is None:
        raise InvalidAttribute("surge.backlog", None, "a backlog or an oldest_age threshold")
    return backlog, None if age is None else float(age)


def surging(
    visible: int, oldest_age: float | None, backlog: int | None, age_limit: float | None
) -> bool:
    """Whether a queue is past its surge threshold (new sends go to the surge queue)."""
    if backlog is not None and visible >= backlog:
        return True
    return age_limit is not None and oldest_age is not None and oldest_age >= age_limit
