"""GCRA token-bucket arithmetic: properties over random takes and clock moves."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stormproof.core import bucket
from stormproof.core.bucket import Rate
from stormproof.errors import InvalidAttribute

rates = st.builds(
    Rate, st.floats(0.5, 1000), st.integers(1, 50), st.sampled_from([1.0, 60.0, 3600.0])
)
takes = st.lists(st.tuples(st.floats(0, 5), st.integers(0, 20)), max_size=60)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"rate": 0}, "rate"),
        ({"rate": -1}, "rate"),
        ({"rate": True}, "rate"),
        ({"rate": float("inf")}, "rate"),
        ({"rate": 5, "burst": 0}, "burst"),
        ({"rate": 5, "burst": 1.5}, "burst"),
        ({"rate": 5, "per": 0}, "per"),
    ],
)
def test_invalid_rates_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidAttribute) as err:
        bucket.rate(**kwargs)
    assert err.value.field == field


def test_default_burst_is_the_rate() -> None:
    assert bucket.rate(50).burst == 50
    assert bucket.rate(0.5).burst == 1
    assert bucket.rate(10, 3, 60) == Rate(10.0, 3, 60.0)


@given(rates)
def test_fresh_bucket_grants_exactly_the_burst(r: Rate) -> None:
    g = bucket.grant(0.0, 100.0, r, 10_000)
    assert g.granted == r.burst
    again = bucket.grant(g.tat, 100.0, r, 1)
    assert again.granted == 0
    assert again.retry_after == pytest.approx(r.interval)


@given(rates, takes)
def test_never_more_than_burst_plus_rate_times_elapsed(
    r: Rate, seq: list[tuple[float, int]]
) -> None:
    tat, now, total = 0.0, 1000.0, 0
    start = now
    for dt, want in seq:
        now += dt
        g = bucket.grant(tat, now, r, want)
        assert 0 <= g.granted <= want
        assert (g.retry_after > 0) == (g.granted == 0 and want > 0)
        tat, total = g.tat, total + g.granted
        assert total <= r.burst + (now - start) / r.interval + 1e-6


@given(rates, st.floats(0, 1e4), st.floats(0, 10))
def test_waiting_retry_after_yields_a_token(r: Rate, tat: float, ahead: float) -> None:
    now = 1000.0
    tat = now + ahead
    g = bucket.grant(tat, now, r, 1)
    if g.granted == 0:
        assert bucket.grant(tat, now + g.retry_after, r, 1).granted == 1
    assert bucket.grant(tat, now, r, 0) == bucket.Grant(0, tat)


@given(st.lists(rates, min_size=1, max_size=3), takes)
def test_several_rates_grant_what_every_one_allows(
    rs: list[Rate], seq: list[tuple[float, int]]
) -> None:
    tats, now = [0.0] * len(rs), 1000.0
    for dt, want in seq:
        now += dt
        each = [bucket.grant(t, now, r, want).granted for t, r in zip(tats, rs, strict=True)]
        n, tats2, wait = bucket.grant_all(tats, now, rs, want)
        assert n == min(each)
        assert (wait > 0) == (n == 0 and want > 0)
        if n == 0:
            assert tats2 == tats
        tats = tats2


def test_sustained_rate_over_time() -> None:
    r = bucket.rate(10, 1)
    tat, granted = 0.0, 0
    for i in range(1000):  # ask every 10 ms for 10 s
        g = bucket.grant(tat, 100.0 + i * 0.01, r, 1)
        tat, granted = g.tat, granted + g.granted
    assert 100 <= granted <= 101
