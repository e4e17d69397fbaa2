"""Lambda async-invocation retry decisions and records, with a fake clock and seeded randomness."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stormproof.core.retry import (
    AsyncCondition,
    AsyncGiveUp,
    AsyncInvokePolicy,
    FunctionFailed,
    FunctionThrottled,
    Retry,
    decide_async,
    invocation_record,
    iso_millis,
)
from stormproof.errors import InvalidAttribute

T0 = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
seeds = st.integers(min_value=0, max_value=2**32 - 1)
async_policies = st.builds(
    AsyncInvokePolicy,
    max_retry_attempts=st.integers(min_value=0, max_value=2),
    max_event_age=st.integers(min_value=60, max_value=21600),
)


@pytest.mark.parametrize(("attempts", "nominal"), [(1, 60.0), (2, 120.0)])
@given(seed=seeds)
def test_function_errors_retry_after_about_one_then_two_minutes(
    attempts: int, nominal: float, seed: int
) -> None:
    d = decide_async(
        AsyncInvokePolicy(),
        attempts=attempts,
        enqueued_at=T0,
        now=T0,
        outcome=FunctionFailed(),
        throttle_count=0,
        rng=random.Random(seed),
    )
    assert isinstance(d, Retry)
    assert d.counts_as_attempt
    assert nominal * 0.9 <= d.delay <= nominal * 1.1


@given(async_policies, st.integers(min_value=1, max_value=5), seeds)
def test_function_errors_give_up_when_retries_are_spent(
    policy: AsyncInvokePolicy, attempts: int, seed: int
) -> None:
    d = decide_async(
        policy,
        attempts=attempts,
        enqueued_at=T0,
        now=T0,
        outcome=FunctionFailed(),
        throttle_count=0,
        rng=random.Random(seed),
    )
    if attempts > policy.max_retry_attempts:
        assert d == AsyncGiveUp(AsyncCondition.RETRIES_EXHAUSTED)
    else:
        # Still within its retries: a retry, unless the event is too old by then.
        assert d != AsyncGiveUp(AsyncCondition.RETRIES_EXHAUSTED)


@given(st.integers(min_value=1, max_value=400), seeds)
def test_throttles_back_off_exponentially_and_do_not_count(throttles: int, seed: int) -> None:
    d = decide_async(
        AsyncInvokePolicy(max_event_age=21600),
        attempts=0,
        enqueued_at=T0,
        now=T0,
        outcome=FunctionThrottled(),
        throttle_count=throttles,
        rng=random.Random(seed),
    )
    assert isinstance(d, Retry)
    assert not d.counts_as_attempt
    ceiling = min(300.0, 2.0 ** min(throttles - 1, 60))
    assert ceiling / 2 <= d.delay <= ceiling


@given(async_policies, st.lists(st.booleans(), min_size=1, max_size=400), seeds)
def test_async_loop_never_runs_too_often_or_too_late(
    policy: AsyncInvokePolicy, throttled: list[bool], seed: int
) -> None:
    # Replay a run of failures and throttles with a fake clock, applying each decision.
    rng, now, runs, throttles = random.Random(seed), T0, 0, 0
    run_times: list[datetime] = []
    decision: Retry | AsyncGiveUp | None = None
    for is_throttle in throttled:
        if is_throttle:
            throttles += 1
            outcome: FunctionFailed | FunctionThrottled = FunctionThrottled()
        else:
            runs += 1
            run_times.append(now)
            outcome = FunctionFailed()
        decision = decide_async(
            policy,
            attempts=runs,
            enqueued_at=T0,
            now=now,
            outcome=outcome,
            throttle_count=throttles,
            rng=rng,
        )
        if isinstance(decision, AsyncGiveUp):
            break
        now = decision.at
    assert runs <= policy.max_retry_attempts + 1
    assert all(t <= T0 + timedelta(seconds=policy.max_event_age) for t in run_times)
    if isinstance(decision, Retry):
        assert decision.at <= T0 + timedelta(seconds=policy.max_event_age)


def test_old_events_are_not_run_again() -> None:
    policy = AsyncInvokePolicy(max_event_age=60)
    for outcome in (FunctionFailed(), FunctionThrottled()):
        d = decide_async(
            policy,
            attempts=1,
            enqueued_at=T0,
            now=T0 + timedelta(seconds=60),
            outcome=outcome,
            throttle_count=1,
            rng=random.Random(1),
        )
        assert d == AsyncGiveUp(AsyncCondition.EVENT_AGE_EXCEEDED)


def test_async_rejects_negative_counts() -> None:
    for attempts, throttles in ((-1, 0), (0, -1)):
        with pytest.raises(InvalidAttribute):
            decide_async(
                AsyncInvokePolicy(),
                attempts=attempts,
                enqueued_at=T0,
                now=T0,
                outcome=FunctionThrottled(),
                throttle_count=throttles,
                rng=random.Random(),
            )


def test_invocation_record_has_the_aws_shape() -> None:
    record = invocation_record(
        timestamp=datetime(2019, 11, 14, 18, 16, 5, 568_912, tzinfo=UTC),
        request_id="e4b46cbf-b738-xmpl-8880-a18cdf61200e",
        function_arn="arn:aws:lambda:us-east-2:123456789012:function:my-function:$LATEST",
        condition=AsyncCondition.RETRIES_EXHAUSTED,
        approximate_invoke_count=3,
        request_payload={"ORDER_IDS": ["9e07af03"]},
        response_payload={"errorMessage": "boom"},
    )
    assert record == {
        "version": "1.0",
        "timestamp": "2019-11-14T18:16:05.568Z",
        "requestContext": {
            "requestId": "e4b46cbf-b738-xmpl-8880-a18cdf61200e",
            "functionArn": "arn:aws:lambda:us-east-2:123456789012:function:my-function:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": {"ORDER_IDS": ["9e07af03"]},
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "responsePayload": {"errorMessage": "boom"},
    }


def test_success_record_has_no_function_error() -> None:
    record = invocation_record(
        timestamp=T0,
        request_id="r",
        function_arn="f",
        condition=AsyncCondition.SUCCESS,
        approximate_invoke_count=1,
        request_payload={},
        response_payload=None,
        function_error=None,
    )
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}


@given(
    st.datetimes(
        min_value=datetime(1900, 1, 1), max_value=datetime(9000, 1, 1), timezones=st.timezones()
    )
)
def test_iso_millis_is_utc_with_milliseconds_and_z(t: datetime) -> None:
    text = iso_millis(t)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", text)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert abs(parsed - t) < timedelta(milliseconds=1)
