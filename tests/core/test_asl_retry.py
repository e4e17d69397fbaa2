"""Retry arithmetic and matching: bounds hold for any retrier settings."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from stormproof.core.asl.retry import backoff_delay, decide_retry, error_matches, find_catcher


@given(
    interval=st.integers(min_value=1, max_value=1000),
    rate=st.floats(min_value=1.0, max_value=5.0),
    attempt=st.integers(min_value=1, max_value=20),
    cap=st.one_of(st.none(), st.integers(min_value=1, max_value=10_000)),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_delay_bounds(interval: int, rate: float, attempt: int, cap: int | None, seed: int) -> None:
    retrier: dict[str, object] = {"IntervalSeconds": interval, "BackoffRate": rate}
    if cap is not None:
        retrier["MaxDelaySeconds"] = cap
    plain = backoff_delay(retrier, attempt, random.Random(seed))
    expected = interval * rate ** (attempt - 1)
    assert plain == (min(expected, cap) if cap is not None else expected)
    jittered = backoff_delay({**retrier, "JitterStrategy": "FULL"}, attempt, random.Random(seed))
    assert 0 <= jittered <= plain


def test_documented_example_waits_three_then_four_and_a_half() -> None:
    retrier = {"IntervalSeconds": 3, "BackoffRate": 1.5, "MaxAttempts": 2}
    rng = random.Random(0)
    assert [backoff_delay(retrier, n, rng) for n in (1, 2)] == [3.0, 4.5]


def test_per_retrier_counters_follow_awss_worked_example() -> None:
    retriers = [
        {"ErrorEquals": ["A", "B"], "IntervalSeconds": 1, "BackoffRate": 2, "MaxAttempts": 2},
        {"ErrorEquals": ["C"], "IntervalSeconds": 5},
    ]
    counts = [0, 0]
    delays = []
    for error in ("A", "B", "C", "B"):
        decision = decide_retry(retriers, counts, error, random.Random(0))
        if decision is None:
            delays.append(None)
            continue
        counts[decision.index] = decision.attempt
        delays.append(decision.delay)
    assert delays == [1.0, 2.0, 5.0, None]


def test_matching_rules() -> None:
    assert error_matches(["States.ALL"], "Anything")
    assert not error_matches(["States.ALL"], "States.Runtime")
    assert not error_matches(["States.Runtime"], "States.Runtime")
    assert error_matches(["States.TaskFailed"], "Lambda.Unknown")
    assert not error_matches(["State.ALL"], "X")
    assert (
        decide_retry([{"ErrorEquals": ["X"], "MaxAttempts": 0}], [0], "X", random.Random()) is None
    )
    catchers = [{"ErrorEquals": ["A"], "Next": "a"}, {"ErrorEquals": ["States.ALL"], "Next": "b"}]
    assert find_catcher(catchers, "Z") == catchers[1]
    assert find_catcher(catchers, "States.DataLimitExceeded") is None
