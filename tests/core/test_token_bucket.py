"""Token-bucket arithmetic (API Gateway's worked examples and properties)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stormproof.core.token_bucket import Bucket, BucketLimits, take
from stormproof.core.webhook_retry import DEFAULT_SCHEDULE, after_attempt
from stormproof.errors import InvalidAttribute


def _serve(limits: BucketLimits, bucket: Bucket, now: float, n: int) -> tuple[Bucket, int]:
    served = 0
    for _ in range(n):
        d = take(limits, bucket, now)
        bucket = d.bucket
        served += d.allowed
    return bucket, served


def test_api_gateway_worked_examples() -> None:
    limits = BucketLimits(10_000, 5_000)
    _, served = _serve(limits, Bucket.full(limits, 0.0), 0.001, 10_000)
    assert served == 5_000  # 10,000 in the first millisecond: the burst is served
    limits2 = BucketLimits(10_000, 5_000)
    b, first = _serve(limits2, Bucket.full(limits2, 0.0), 0.0, 5_000)
    _, second = _serve(limits2, b, 0.1, 5_000)
    assert first + second == 6_000  # 100 ms refill 1,000 tokens


def test_refusal_says_when_a_token_is_free() -> None:
    limits = BucketLimits(2, 1)
    d = take(limits, Bucket.full(limits, 0.0), 0.0)
    refused = take(limits, d.bucket, 0.0)
    assert not refused.allowed and refused.retry_after == pytest.approx(0.5)
    assert take(limits, refused.bucket, 0.5).allowed


@given(
    rate=st.floats(0.1, 1000),
    burst=st.integers(1, 500),
    gaps=st.lists(st.floats(0, 5), min_size=1, max_size=200),
)
def test_never_more_than_burst_plus_rate_times_elapsed(
    rate: float, burst: int, gaps: list[float]
) -> None:
    limits = BucketLimits(rate, burst)
    bucket, now, served = Bucket.full(limits, 0.0), 0.0, 0
    for gap in gaps:
        now += gap
        d = take(limits, bucket, now)
        bucket, served = d.bucket, served + d.allowed
        assert 0 <= bucket.tokens <= burst
        assert d.allowed or d.retry_after > 0
    assert served <= burst + rate * now + 1e-6


@pytest.mark.parametrize(
    "bad",
    [
        dict(rate=0, burst=1),
        dict(rate=1, burst=0),
        dict(rate=True, burst=1),
        dict(rate=1, burst=1.5),
    ],
)
def test_bad_limits_name_the_field(bad: dict[str, object]) -> None:
    with pytest.raises(InvalidAttribute, match="throttle"):
        BucketLimits(bad["rate"], bad["burst"])  # type: ignore[arg-type]


def test_webhook_verdicts() -> None:
    rng = random.Random(1)
    assert after_attempt(1, 204, DEFAULT_SCHEDULE, rng).action == "delivered"
    assert after_attempt(1, 410, DEFAULT_SCHEDULE, rng).action == "disable"
    assert after_attempt(1, 404, DEFAULT_SCHEDULE, rng).action == "failed"
    for status in (429, 500, 503, None):
        v = after_attempt(1, status, DEFAULT_SCHEDULE, rng)
        assert v.action == "retry" and 0 <= v.delay <= 5
    v = after_attempt(3, 500, DEFAULT_SCHEDULE, rng)
    assert 0 <= v.delay <= 1800
    assert after_attempt(len(DEFAULT_SCHEDULE), 500, DEFAULT_SCHEDULE, rng).action == "failed"
