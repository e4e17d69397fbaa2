"""Pure decisions of a stream mapping's batch: retry, bisect, give up, advance.

A batch is a run of records of one shard, in order. A :class:`BatchPlan` holds the
ranges of it still to process (half-open index ranges, contiguous and in order, starting
at ``done``): everything before ``done`` succeeded or was given up, so the checkpoint
may move to the record just before ``done``.

AWS's rules (docs/aws-semantics.md §2.3): on a function error the whole range is retried
until it succeeds, ``max_retry_attempts`` is used up or a record is older than
``max_record_age``; with ``bisect_on_error`` a failing range is split in two and each half
retried, and splitting does not consume retry attempts; a partial response
(``report_batch_item_failures``) checkpoints before the lowest failed sequence number and
retries from there. Records already older than ``max_record_age`` are given up *before*
an invocation (:func:`expire`); a retry of the same range waits :func:`retry_delay`
(1 s doubling to 60 s); a batch is invoked once it is full or its first record has waited
``batch_window`` (:func:`ready`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

RETRIES_EXHAUSTED = "RetryAttemptsExhausted"
RETRY_FIRST = 1.0  # seconds before the first retry of a failed range
RETRY_CAP = 60.0  # the longest wait between two attempts of one range
AGE_EXCEEDED = "RecordAgeExceeded"

Range = tuple[int, int]


@dataclass(frozen=True)
class BatchPlan:
    """What is left of a batch: ``pending`` ranges from index ``done``; the head range's
    retries used so far (``attempts``)."""

    pending: tuple[Range, ...]
    done: int = 0
    attempts: int = 0


@dataclass(frozen=True)
class GiveUp:
    """A range dropped to the on-failure destination, and why."""

    start: int
    end: int
    condition: str  # RETRIES_EXHAUSTED | AGE_EXCEEDED
    invocations: int


def start(size: int) -> BatchPlan:
    """The plan of a fresh batch of ``size`` records."""
    return BatchPlan(((0, size),) if size else ())


def head(plan: BatchPlan) -> Range | None:
    """The range to invoke next, or None when the batch is finished."""
    return plan.pending[0] if plan.pending else None


def succeeded(plan: BatchPlan) -> BatchPlan:
    """The head range succeeded."""
    hi = plan.pending[0][1]
    return BatchPlan(plan.pending[1:], hi, 0)


def failed(
    plan: BatchPlan,
    *,
    bisect: bool,
    max_retry_attempts: int,
    age_exceeded: bool,
    failed_at: int | None = None,
) -> tuple[BatchPlan, GiveUp | None]:
    """The head range failed (``failed_at``: index of the lowest failed record a partial
    response named; records before it succeeded)."""
    lo, hi = plan.pending[0]
    rest = plan.pending[1:]
    if failed_at is not None and lo < failed_at < hi:
        # A partial response splits the range at the failed record: no retry is used.
        return BatchPlan(((failed_at, hi), *rest), failed_at, plan.attempts), None
    if age_exceeded:
        return BatchPlan(rest, hi, 0), GiveUp(lo, hi, AGE_EXCEEDED, plan.attempts + 1)
    if bisect and hi - lo > 1:
        mid = (lo + hi) // 2
        return BatchPlan(((lo, mid), (mid, hi), *rest), lo, 0), None
    attempts = plan.attempts + 1
    if 0 <= max_retry_attempts < attempts:
        return BatchPlan(rest, hi, 0), GiveUp(lo, hi, RETRIES_EXHAUSTED, attempts)
    return replace(plan, attempts=attempts), None


def expire(plan: BatchPlan, count: int) -> tuple[BatchPlan, GiveUp | None]:
    """Give up the first ``count`` records of the head range before invoking them: they are
    older than ``max_record_age`` (the range keeps the rest and its attempts)."""
    lo, hi = plan.pending[0]
    if count <= 0:
        return plan, None
    cut = min(hi, lo + count)
    give = GiveUp(lo, cut, AGE_EXCEEDED, plan.attempts)
    if cut == hi:
        return BatchPlan(plan.pending[1:], hi, 0), give
    return BatchPlan(((cut, hi), *plan.pending[1:]), cut, plan.attempts), give


def expired_count(arrivals: Sequence[float], now: float, max_record_age: float) -> int:
    """How many leading records (arrivals in order) are older than ``max_record_age``."""
    if max_record_age < 0:
        return 0
    count = 0
    for arrival in arrivals:
        if now - arrival <= max_record_age:
            break
        count += 1
    return count


def retry_delay(attempts: int) -> float:
    """Seconds to wait before attempt ``attempts + 1`` of a range (0 before the first)."""
    if attempts <= 0:
        return 0.0
    return float(min(RETRY_CAP, RETRY_FIRST * 2 ** min(attempts - 1, 16)))


def ready(count: int, batch_size: int, first_arrival: float, now: float, window: float) -> bool:
    """Whether a batch of ``count`` records is invoked now: full, or its first record has
    waited the batching window."""
    return count >= batch_size or now - first_arrival >= window


def lowest_failure(sequence_numbers: Sequence[str], response: Any) -> int | None:
    """Index of the lowest failed record a partial batch response names, or None.

    As for SQS, an empty or null list or response is complete success; a malformed
    response or an identifier not in the batch is complete failure (index 0)."""
    if response is None:
        return None
    if not isinstance(response, dict):
        return 0
    failures = response.get("batchItemFailures")
    if failures is None or failures == []:
        return None
    if not isinstance(failures, list):
        return 0
    index = {s: i for i, s in enumerate(sequence_numbers)}
    found = []
    for item in failures:
        ident = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(ident, str) or ident not in index:
            return 0
        found.append(index[ident])
    return min(found)


def bisection_bound(size: int) -> int:
    """At most this many extra invocations isolate one poison record in a batch of
    ``size``: two per halving, ⌈log₂ size⌉ halvings."""
    return 2 * max(0, (size - 1).bit_length())
