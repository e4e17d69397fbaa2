"""Retry-or-give-up decisions, driven with a fake clock and seeded randomness."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stormproof.core.retry import (
    AsyncInvokePolicy,
    DeliveryFailure,
    ErrorCode,
    ExhaustedCondition,
    GiveUp,
    Retry,
    RetryPolicy,
    decide_delivery,
    dlq_attributes,
)
from stormproof.errors import InvalidAttribute

T0 = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
seeds = st.integers(min_value=0, max_value=2**32 - 1)
retry_policies = st.builds(
    RetryPolicy,
    max_retry_attempts=st.integers(min_value=0, max_value=185),
    max_event_age=st.integers(min_value=60, max_value=86400),
)
async_policies = st.builds(
    AsyncInvokePolicy,
    max_retry_attempts=st.integers(min_value=0, max_value=2),
    max_event_age=st.integers(min_value=60, max_value=21600),
)
retriable = st.one_of(
    st.just(DeliveryFailure.http(429)),
    st.integers(min_value=500, max_value=599).map(DeliveryFailure.http),
    st.just(DeliveryFailure.timeout()),
)
final_4xx = st.integers(min_value=400, max_value=499).filter(lambda s: s != 429)


# --- policies -------------------------------------------------------------------------


def test_policy_defaults_are_aws_defaults() -> None:
    assert RetryPolicy() == RetryPolicy(max_retry_attempts=185, max_event_age=86400)
    assert AsyncInvokePolicy() == AsyncInvokePolicy(max_retry_attempts=2, max_event_age=21600)


@pytest.mark.parametrize(
    ("cls", "field", "value"),
    [
        (RetryPolicy, "max_retry_attempts", -1),
        (RetryPolicy, "max_retry_attempts", 186),
        (RetryPolicy, "max_event_age", 59),
        (RetryPolicy, "max_event_age", 86401),
        (RetryPolicy, "max_retry_attempts", True),
        (AsyncInvokePolicy, "max_retry_attempts", 3),
        (AsyncInvokePolicy, "max_event_age", 59),
        (AsyncInvokePolicy, "max_event_age", 21601),
        (AsyncInvokePolicy, "max_event_age", 600.5),
    ],
)
def test_policy_out_of_range_is_rejected_naming_the_field(
    cls: type, field: str, value: object
) -> None:
    with pytest.raises(InvalidAttribute) as info:
        cls(**{field: value})
    assert info.value.field == field
    assert info.value.value == value


# --- EventBridge delivery -------------------------------------------------------------


@given(
    retry_policies,
    st.integers(min_value=0, max_value=200),
    st.integers(0, 90_000),
    retriable,
    seeds,
)
def test_delivery_retry_is_bounded_and_never_past_max_age(
    policy: RetryPolicy, attempts: int, elapsed: int, failure: DeliveryFailure, seed: int
) -> None:
    now = T0 + timedelta(seconds=elapsed)
    d = decide_delivery(
        policy,
        attempts_so_far=attempts,
        first_attempt_at=T0,
        now=now,
        outcome=failure,
        rng=random.Random(seed),
    )
    if isinstance(d, Retry):
        assert attempts < policy.max_retry_attempts
        assert 0.0 <= d.delay <= min(300.0, 2.0 ** min(attempts, 60))
        assert d.at == now + timedelta(seconds=d.delay)
        assert d.at <= T0 + timedelta(seconds=policy.max_event_age)
        assert d.counts_as_attempt
    else:
        assert (d.error_code, d.error_message) == (failure.error_code, failure.error_message)
        if attempts >= policy.max_retry_attempts:
            assert d.exhausted_condition is ExhaustedCondition.MAXIMUM_RETRY_ATTEMPTS
        else:
            assert d.exhausted_condition is ExhaustedCondition.MAXIMUM_EVENT_AGE


@given(retry_policies, st.integers(min_value=0, max_value=185), final_4xx, seeds)
def test_other_4xx_give_up_at_once(
    policy: RetryPolicy, attempts: int, status: int, seed: int
) -> None:
    d = decide_delivery(
        policy,
        attempts_so_far=attempts,
        first_attempt_at=T0,
        now=T0,
        outcome=DeliveryFailure.http(status),
        rng=random.Random(seed),
    )
    assert isinstance(d, GiveUp)
    assert d.exhausted_condition is ExhaustedCondition.NOT_RETRIABLE
    assert d.error_code == ErrorCode.CLIENT_ERROR


@pytest.mark.parametrize(
    "failure", [DeliveryFailure.missing_destination(), DeliveryFailure.no_permissions()]
)
def test_missing_destination_gives_up_without_retries(failure: DeliveryFailure) -> None:
    d = decide_delivery(
        RetryPolicy(),
        attempts_so_far=0,
        first_attempt_at=T0,
        now=T0,
        outcome=failure,
        rng=random.Random(0),
    )
    assert d == GiveUp(ExhaustedCondition.NOT_RETRIABLE, failure.error_code, failure.error_message)


def test_http_failures_carry_aws_error_codes() -> None:
    assert DeliveryFailure.http(429).error_code == ErrorCode.THROTTLING
    assert DeliveryFailure.http(503).error_code == ErrorCode.SERVER_ERROR
    assert DeliveryFailure.http(404, "gone").error_message == "gone"


@given(retry_policies, seeds)
def test_delivery_loop_with_fake_clock_respects_both_limits(policy: RetryPolicy, seed: int) -> None:
    # A target that always answers 503: every decision is applied as the runtime would.
    rng, now, retries = random.Random(seed), T0, 0
    while True:
        d = decide_delivery(
            policy,
            attempts_so_far=retries,
            first_attempt_at=T0,
            now=now,
            outcome=DeliveryFailure.http(503),
            rng=rng,
        )
        if isinstance(d, GiveUp):
            break
        assert d.at >= now
        now, retries = d.at, retries + 1
    assert retries <= policy.max_retry_attempts
    assert now <= T0 + timedelta(seconds=policy.max_event_age)
    expected = (
        ExhaustedCondition.MAXIMUM_RETRY_ATTEMPTS
        if retries == policy.max_retry_attempts
        else ExhaustedCondition.MAXIMUM_EVENT_AGE
    )
    assert d.exhausted_condition is expected


def test_delivery_backoff_ceiling_doubles_from_one_second_to_five_minutes() -> None:
    top = lambda: 0.9999999999999999  # noqa: E731 - the largest draw shows the ceiling
    ceilings = [
        decide_delivery(
            RetryPolicy(),
            attempts_so_far=k,
            first_attempt_at=T0,
            now=T0,
            outcome=DeliveryFailure.timeout(),
            rng=top,
        )
        for k in range(11)
    ]
    assert [round(c.delay) for c in ceilings if isinstance(c, Retry)] == [
        1,
        2,
        4,
        8,
        16,
        32,
        64,
        128,
        256,
        300,
        300,
    ]


def test_negative_attempts_are_rejected() -> None:
    with pytest.raises(InvalidAttribute):
        decide_delivery(
            RetryPolicy(),
            attempts_so_far=-1,
            first_attempt_at=T0,
            now=T0,
            outcome=DeliveryFailure.timeout(),
            rng=random.Random(),
        )


def test_dlq_attributes_have_aws_keys_and_string_values() -> None:
    attrs = dlq_attributes(
        rule_arn="arn:aws:events:us-east-1:111111111111:rule/r",
        target_arn="arn:aws:sqs:us-east-1:111111111111:q",
        error_code=ErrorCode.THROTTLING,
        error_message="slow down",
        exhausted_condition=ExhaustedCondition.MAXIMUM_RETRY_ATTEMPTS,
        retry_attempts=185,
    )
    assert attrs == {
        "RULE_ARN": "arn:aws:events:us-east-1:111111111111:rule/r",
        "TARGET_ARN": "arn:aws:sqs:us-east-1:111111111111:q",
        "ERROR_CODE": "THROTTLING",
        "ERROR_MESSAGE": "slow down",
        "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts",
        "RETRY_ATTEMPTS": "185",
    }
    assert all(type(v) is str for v in attrs.values())
