"""Recent-activity buckets: merging is addition, old buckets go, percentiles bound the data."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from stormproof.core import activity

durations = st.lists(st.floats(min_value=0, max_value=1000, allow_nan=False), max_size=50)


@given(durations, durations)
def test_merging_two_processes_counts_is_addition(a: list[float], b: list[float]) -> None:
    now = 10_000.0
    tallies = []
    for ds in (a, b):
        t = activity.empty()
        for d in ds:
            activity.count(t, duration=d, error=d > 500)
        tallies.append({activity.slot(now): t})
    merged = activity.merge(activity.merge(None, tallies[0], now), tallies[1], now)
    total = activity.totals(merged)
    assert total[0] == len(a) + len(b)
    assert total[1] == sum(d > 500 for d in a + b)
    assert sum(total[3:]) == len(a) + len(b)
    assert activity.series(merged, now, 5)[-1] == len(a) + len(b)


@given(st.lists(st.floats(min_value=0.0005, max_value=800, allow_nan=False), min_size=1))
def test_a_percentile_is_an_upper_bound_of_that_share(ds: list[float]) -> None:
    t = activity.empty()
    for d in ds:
        activity.count(t, duration=d)
    for q in (0.5, 0.9, 0.99):
        bound = activity.percentile(t, q)
        assert bound is not None
        assert sum(d <= bound for d in ds) >= q * len(ds)


@given(st.integers(min_value=0, max_value=10 * activity.KEPT))
def test_buckets_older_than_the_window_are_dropped(age_buckets: int) -> None:
    now = 1_000_000.0
    start = activity.slot(now) - age_buckets * int(activity.BUCKET)
    merged = activity.merge(None, {start: [1] + [0] * (activity.WIDTH - 1)}, now)
    assert bool(merged["b"]) == (age_buckets < activity.KEPT)
    again = activity.merge(merged, {}, now + activity.BUCKET * activity.KEPT)
    assert again["b"] == {}


def test_throttles_count_apart_and_nothing_has_no_percentile() -> None:
    t = activity.empty()
    activity.count(t, throttled=True, n=3)
    assert t[:3] == [0, 0, 3] and activity.percentile(t, 0.5) is None


def test_transitions_reported_by_several_processes_are_kept_once() -> None:
    one = {"at": 100.0, "from": "closed", "to": "open", "reason": "5 of 10 failed"}
    copy = {**one, "at": 100.4}  # another process saw the same change
    back = {"at": 130.0, "from": "open", "to": "half_open", "reason": ""}
    kept = activity.add_transitions(activity.add_transitions(None, [one]), [back, copy])
    assert [t["to"] for t in kept["t"]] == ["open", "half_open"]
    many = [{**one, "at": float(i * 10)} for i in range(50)]
    assert len(activity.add_transitions(None, many)["t"]) == activity.TRANSITIONS_KEPT
