"""Retry-or-give-up decisions for bus deliveries and async function invocations.

Pure functions of a policy, the attempt counts, the times involved (``now`` is
an argument) and a random source. The runtime calls them after a failure and
applies the answer: ``Retry`` becomes a retry-at in the store, ``GiveUp`` /
``AsyncGiveUp`` a dead-letter (or a drop when no DLQ is configured).

EventBridge target delivery (spec §3.4)
---------------------------------------
``attempts_so_far`` counts retries already made; the first try is not a retry
(as AWS counts ``MaximumRetryAttempts``). After a failed try:

* HTTP 429, 5xx and failures without an answer (timeout, connection) are
  retried; other 4xx give up at once; a missing target (``NO_RESOURCE``) or
  missing permission (``NO_PERMISSIONS``) gives up at once, without retries.
* Retry ``k`` (0-based: ``k = attempts_so_far``) waits ``uniform(0, min(300,
  2**k))`` seconds: full jitter, 1 s doubling to a 5-minute cap. So the
  ceilings run 1, 2, 4, ... 256, 300, 300 ... seconds.
* Once ``max_retry_attempts`` retries are spent the answer is ``GiveUp``
  with ``MaximumRetryAttempts``. A retry whose time would fall after
  ``first_attempt_at + max_event_age`` is never scheduled: ``GiveUp`` with
  ``MaximumEventAgeInSeconds`` (AWS's name for the condition in DLQ records).

Lambda async invocation (spec §2.4)
-----------------------------------
``attempts`` counts function runs that returned an error, including the one
that just finished; ``throttle_count`` counts throttles, including this one.

* A function error is retried ``max_retry_attempts`` times (default 2, so 3
  runs): about 60 s before the 2nd run and 120 s before the 3rd, each
  jittered by ±10 % so a burst of failures does not come back in lockstep.
* A throttle is not a run: it is retried with equal jitter from 1 s doubling
  to a 5-minute cap (``[2**(n-1)/2, 2**(n-1)]`` for the n-th throttle), does
  not count as an attempt, and is limited only by the event age.
* An event older than ``max_event_age`` (from ``enqueued_at``) is never run
  again: ``AsyncGiveUp("EventAgeExceeded")``; spent retries give
  ``AsyncGiveUp("RetriesExhausted")``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from stormproof.core.backoff import Jitter, RandomSource, delay, uniform
from stormproof.core.numbers import whole_number
from stormproof.errors import InvalidAttribute

# Seconds; the schedules in the module docstring.
DELIVERY_BASE: Final = 1.0
DELIVERY_CAP: Final = 300.0
ASYNC_ERROR_DELAYS: Final = (60.0, 120.0)
ASYNC_ERROR_SPREAD: Final = 0.1
THROTTLE_BASE: Final = 1.0
THROTTLE_CAP: Final = 300.0


def _check_range(field: str, value: int, low: int, high: int) -> None:
    whole_number(field, value, low, high)


@dataclass(frozen=True)
class RetryPolicy:
    """An EventBridge target's ``RetryPolicy``; ``max_event_age`` is in seconds."""

    max_retry_attempts: int = 185
    max_event_age: int = 86400

    def __post_init__(self) -> None:
        _check_range("max_retry_attempts", self.max_retry_attempts, 0, 185)
        _check_range("max_event_age", self.max_event_age, 60, 86400)


@dataclass(frozen=True)
class AsyncInvokePolicy:
    """A function's async invocation config; ``max_event_age`` is in seconds."""

    max_retry_attempts: int = 2
    max_event_age: int = 21600

    def __post_init__(self) -> None:
        _check_range("max_retry_attempts", self.max_retry_attempts, 0, 2)
        _check_range("max_event_age", self.max_event_age, 60, 21600)


class ErrorCode(StrEnum):
    """``ERROR_CODE`` values of EventBridge DLQ messages (archived eb-rule-dlq.md)."""

    NO_PERMISSIONS = "NO_PERMISSIONS"
    NO_RESOURCE = "NO_RESOURCE"
    RESOURCE_ALREADY_EXISTS = "RESOURCE_ALREADY_EXISTS"
    THROTTLING = "THROTTLING"
    TIMEOUT = "TIMEOUT"
    # Not in AWS's list of examples: stormproof's codes for other HTTP answers.
    SERVER_ERROR = "SERVER_ERROR"
    CLIENT_ERROR = "CLIENT_ERROR"


class ExhaustedCondition(StrEnum):
    """``EXHAUSTED_RETRY_CONDITION`` of a delivery that was given up."""

    MAXIMUM_RETRY_ATTEMPTS = "MaximumRetryAttempts"
    MAXIMUM_EVENT_AGE = "MaximumEventAgeInSeconds"
    # AWS documents no value for errors it never retries; this one is stormproof's.
    NOT_RETRIABLE = "NotRetriable"


@dataclass(frozen=True)
class DeliveryFailure:
    """Why one delivery try failed. Build with the class methods."""

    error_code: str
    error_message: str
    status: int | None = None

    @classmethod
    def http(cls, status: int, message: str = "") -> DeliveryFailure:
        """The target answered with a non-2xx HTTP status."""
        if status == 429:
            code = ErrorCode.THROTTLING
        elif status >= 500:
            code = ErrorCode.SERVER_ERROR
        else:
            code = ErrorCode.CLIENT_ERROR
        return cls(code, message or f"target answered HTTP {status}", status)

    @classmethod
    def timeout(cls, message: str = "target did not answer in time") -> DeliveryFailure:
        """No answer: a timeout or a broken connection (retriable)."""
        return cls(ErrorCode.TIMEOUT, message)

    @classmethod
    def missing_destination(cls, message: str = "target does not exist") -> DeliveryFailure:
        """The target resource no longer exists (dead-lettered without retry)."""
        return cls(ErrorCode.NO_RESOURCE, message)

    @classmethod
    def no_permissions(cls, message: str = "not allowed to deliver") -> DeliveryFailure:
        """Delivery is not permitted (dead-lettered without retry)."""
        return cls(ErrorCode.NO_PERMISSIONS, message)

    @property
    def retriable(self) -> bool:
        """429, 5xx and no answer are retried; everything else is final."""
        if self.status is not None:
            return self.status == 429 or self.status >= 500
        return self.error_code in (ErrorCode.TIMEOUT, ErrorCode.THROTTLING)


@dataclass(frozen=True)
class Retry:
    """Try again at ``at`` (``delay`` seconds after ``now``).

    ``counts_as_attempt`` is False for retries of throttled async invocations.
    """

    at: datetime
    delay: float
    counts_as_attempt: bool = True


@dataclass(frozen=True)
class GiveUp:
    """Stop delivering to this target: dead-letter (or drop) with these facts."""

    exhausted_condition: ExhaustedCondition
    error_code: str
    error_message: str


def decide_delivery(
    policy: RetryPolicy,
    *,
    attempts_so_far: int,
    first_attempt_at: datetime,
    now: datetime,
    outcome: DeliveryFailure,
    rng: RandomSource,
) -> Retry | GiveUp:
    """Decide what follows a failed EventBridge delivery try (schedule above)."""
    if attempts_so_far < 0:
        raise InvalidAttribute("attempts_so_far", attempts_so_far, "an integer >= 0")

    def give_up(condition: ExhaustedCondition) -> GiveUp:
        return GiveUp(condition, outcome.error_code, outcome.error_message)

    if not outcome.retriable:
        return give_up(ExhaustedCondition.NOT_RETRIABLE)
    if attempts_so_far >= policy.max_retry_attempts:
        return give_up(ExhaustedCondition.MAXIMUM_RETRY_ATTEMPTS)
    wait = delay(attempts_so_far, base=DELIVERY_BASE, cap=DELIVERY_CAP, jitter=Jitter.FULL, rng=rng)
    at = now + timedelta(seconds=wait)
    if at > first_attempt_at + timedelta(seconds=policy.max_event_age):
        return give_up(ExhaustedCondition.MAXIMUM_EVENT_AGE)
    return Retry(at, wait)


def dlq_attributes(
    *,
    rule_arn: str,
    target_arn: str,
    error_code: str,
    error_message: str,
    exhausted_condition: str,
    retry_attempts: int,
) -> dict[str, str]:
    """The message attributes EventBridge puts on a target DLQ message (string values)."""
    return {
        "RULE_ARN": rule_arn,
        "TARGET_ARN": target_arn,
        "ERROR_CODE": str(error_code),
        "ERROR_MESSAGE": error_message,
        "EXHAUSTED_RETRY_CONDITION": str(exhausted_condition),
        "RETRY_ATTEMPTS": str(retry_attempts),
    }


class AsyncCondition(StrEnum):
    """``requestContext.condition`` of an async invocation record."""

    SUCCESS = "Success"
    RETRIES_EXHAUSTED = "RetriesExhausted"
    EVENT_AGE_EXCEEDED = "EventAgeExceeded"


@dataclass(frozen=True)
class FunctionFailed:
    """The function ran and returned an error."""

    error_type: str = "Unhandled"


@dataclass(frozen=True)
class FunctionThrottled:
    """The function was not run: no concurrency (or rate) was available."""


@dataclass(frozen=True)
class AsyncGiveUp:
    """Stop: send the invocation record to the on-failure destination or DLQ."""

    condition: AsyncCondition


def decide_async(
    policy: AsyncInvokePolicy,
    *,
    attempts: int,
    enqueued_at: datetime,
    now: datetime,
    outcome: FunctionFailed | FunctionThrottled,
    throttle_count: int,
    rng: RandomSource,
) -> Retry | AsyncGiveUp:
    """Decide what follows a failed or throttled async invocation (schedule above)."""
    if attempts < 0:
        raise InvalidAttribute("attempts", attempts, "an integer >= 0")
    if throttle_count < 0:
        raise InvalidAttribute("throttle_count", throttle_count, "an integer >= 0")
    if isinstance(outcome, FunctionFailed):
        if attempts > policy.max_retry_attempts:
            return AsyncGiveUp(AsyncCondition.RETRIES_EXHAUSTED)
        wait, counts = _function_error_wait(attempts, rng), True
    else:
        wait, counts = _throttle_wait(throttle_count, rng), False
    at = now + timedelta(seconds=wait)
    if at > enqueued_at + timedelta(seconds=policy.max_event_age):
        return AsyncGiveUp(AsyncCondition.EVENT_AGE_EXCEEDED)
    return Retry(at, wait, counts_as_attempt=counts)


def _function_error_wait(attempts: int, rng: RandomSource) -> float:
    # Runs 1 and 2 failed -> about 60 s, then about 120 s (AWS: "about 1 min ... 2 min").
    nominal = ASYNC_ERROR_DELAYS[min(max(attempts, 1), len(ASYNC_ERROR_DELAYS)) - 1]
    spread = nominal * ASYNC_ERROR_SPREAD
    return uniform(rng, nominal - spread, nominal + spread)


def _throttle_wait(throttle_count: int, rng: RandomSource) -> float:
    # Equal jitter keeps the growth visible (at least half the ceiling) while still spreading.
    attempt = max(throttle_count - 1, 0)
    return delay(attempt, base=THROTTLE_BASE, cap=THROTTLE_CAP, jitter=Jitter.EQUAL, rng=rng)


def iso_millis(t: datetime) -> str:
    """``2019-11-14T18:16:05.568Z``: UTC with milliseconds and ``Z`` (naive means UTC)."""
    utc = t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
    return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def invocation_record(
    *,
    timestamp: datetime,
    request_id: str,
    function_arn: str,
    condition: str,
    approximate_invoke_count: int,
    request_payload: Any,
    response_payload: Any = None,
    status_code: int = 200,
    function_error: str | None = "Unhandled",
    executed_version: str = "$LATEST",
) -> dict[str, Any]:
    """An async invocation record, as Lambda sends it to a destination (spec §2.4).

    ``function_error`` is left out of ``responseContext`` when None (successes).
    """
    response_context: dict[str, Any] = {
        "statusCode": status_code,
        "executedVersion": executed_version,
    }
    if function_error is not None:
        response_context["functionError"] = function_error
    return {
        "version": "1.0",
        "timestamp": iso_millis(timestamp),
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": str(condition),
            "approximateInvokeCount": approximate_invoke_count,
        },
        "requestPayload": request_payload,
        "responseContext": response_context,
        "responsePayload": response_payload,
    }
