"""Properties of capped exponential backoff with jitter (fake randomness only)."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stormproof.core.backoff import Jitter, delay, exponential
from stormproof.errors import InvalidAttribute

attempts = st.integers(min_value=0, max_value=2000)
bases = st.floats(min_value=0.001, max_value=100.0)
seeds = st.integers(min_value=0, max_value=2**32 - 1)


@st.composite
def base_and_cap(draw: st.DrawFn) -> tuple[float, float]:
    base = draw(bases)
    return base, base * draw(st.floats(min_value=1.0, max_value=10_000.0))


@given(attempts, base_and_cap(), st.sampled_from(Jitter), seeds)
def test_delay_is_between_zero_and_cap(
    attempt: int, bc: tuple[float, float], jitter: Jitter, seed: int
) -> None:
    base, cap = bc
    d = delay(attempt, base=base, cap=cap, jitter=jitter, rng=random.Random(seed))
    assert 0.0 <= d <= cap


@given(attempts, base_and_cap(), seeds)
def test_full_jitter_is_within_zero_and_the_exponential(
    attempt: int, bc: tuple[float, float], seed: int
) -> None:
    base, cap = bc
    d = delay(attempt, base=base, cap=cap, jitter=Jitter.FULL, rng=random.Random(seed))
    # cap <= base * 10_000 < base * 2**60, so clamping the exponent keeps the bound exact.
    assert 0.0 <= d <= min(cap, base * 2.0 ** min(attempt, 60))


@given(attempts, base_and_cap(), seeds)
def test_equal_jitter_is_within_half_and_full(
    attempt: int, bc: tuple[float, float], seed: int
) -> None:
    base, cap = bc
    ceiling = exponential(attempt, base=base, cap=cap)
    d = delay(attempt, base=base, cap=cap, jitter=Jitter.EQUAL, rng=random.Random(seed))
    assert ceiling / 2.0 <= d <= ceiling


@given(base_and_cap(), st.floats(min_value=0.0, max_value=1e6) | st.none(), seeds)
def test_decorrelated_is_within_base_and_three_times_previous(
    bc: tuple[float, float], previous: float | None, seed: int
) -> None:
    base, cap = bc
    d = delay(
        0,
        base=base,
        cap=cap,
        jitter=Jitter.DECORRELATED,
        rng=random.Random(seed),
        previous=previous,
    )
    last = base if previous is None else previous
    assert base <= d <= max(base, min(cap, 3.0 * last))


@given(base_and_cap(), seeds)
def test_decorrelated_chain_stays_in_bounds(bc: tuple[float, float], seed: int) -> None:
    base, cap = bc
    rng = random.Random(seed)
    previous: float | None = None
    for attempt in range(30):
        d = delay(
            attempt, base=base, cap=cap, jitter=Jitter.DECORRELATED, rng=rng, previous=previous
        )
        upper = 3.0 * (base if previous is None else previous)
        assert base <= d <= min(cap, max(base, upper))
        previous = d


@given(attempts, attempts, base_and_cap())
def test_no_jitter_is_monotonic_in_attempt(a: int, b: int, bc: tuple[float, float]) -> None:
    base, cap = bc
    lo, hi = sorted((a, b))

    def never_called() -> float:
        raise AssertionError("no randomness without jitter")

    d_lo = delay(lo, base=base, cap=cap, jitter=Jitter.NONE, rng=never_called)
    d_hi = delay(hi, base=base, cap=cap, jitter=Jitter.NONE, rng=never_called)
    assert d_lo <= d_hi


@given(base_and_cap())
def test_no_jitter_doubles_until_the_cap(bc: tuple[float, float]) -> None:
    base, cap = bc
    ds = [delay(n, base=base, cap=cap, jitter=Jitter.NONE, rng=random.Random(0)) for n in range(40)]
    assert ds[0] == min(cap, base)
    for prev, cur in itertools.pairwise(ds):
        assert cur == pytest.approx(min(cap, prev * 2.0))
    assert ds[-1] == cap


@pytest.mark.parametrize("jitter", [Jitter.FULL, Jitter.EQUAL, Jitter.DECORRELATED])
@given(attempt=st.integers(min_value=0, max_value=12), base=bases)
def test_jitter_spreads_delays(jitter: Jitter, attempt: int, base: float) -> None:
    # Many clients with independent randomness must not retry in lockstep.
    cap = base * 1e6
    samples = {
        delay(
            attempt, base=base, cap=cap, jitter=jitter, rng=random.Random(seed), previous=base * 4
        )
        for seed in range(32)
    }
    assert len(samples) > 16


def test_extreme_rng_values_stay_in_bounds() -> None:
    for value in (0.0, 0.9999999999999999):
        for jitter in Jitter:
            d = delay(3, base=1.0, cap=5.0, jitter=jitter, rng=lambda: value, previous=2.0)  # noqa: B023
            assert 0.0 <= d <= 5.0


def test_callable_rng_is_accepted() -> None:
    assert delay(2, base=1.0, cap=100.0, jitter=Jitter.FULL, rng=lambda: 0.5) == 2.0
    assert delay(2, base=1.0, cap=100.0, jitter=Jitter.EQUAL, rng=lambda: 0.5) == 3.0


@pytest.mark.parametrize(
    ("attempt", "base", "cap", "previous", "field"),
    [
        (-1, 1.0, 10.0, None, "attempt"),
        (0, -1.0, 10.0, None, "base"),
        (0, float("nan"), 10.0, None, "base"),
        (0, 1.0, 0.5, None, "cap"),
        (0, 1.0, 10.0, -2.0, "previous"),
    ],
)
def test_invalid_arguments_are_rejected(
    attempt: int, base: float, cap: float, previous: float | None, field: str
) -> None:
    with pytest.raises(InvalidAttribute) as info:
        delay(
            attempt, base=base, cap=cap, jitter=Jitter.FULL, rng=random.Random(0), previous=previous
        )
    assert info.value.field == field


def test_broken_rng_is_rejected() -> None:
    with pytest.raises(InvalidAttribute) as info:
        delay(1, base=1.0, cap=10.0, jitter=Jitter.FULL, rng=lambda: 1.5)
    assert info.value.field == "rng"
