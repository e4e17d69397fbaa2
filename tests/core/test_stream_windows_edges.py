"""Tumbling windows of stream mappings (core/stream_windows.py), over plain-number times."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from stormproof.core import stream_windows as win

sizes = st.integers(1, 900).map(float)
arrivals = st.floats(0, 1e7)


@given(arrivals, sizes)
def test_an_arrival_falls_in_exactly_its_window(arrival: float, size: float) -> None:
    start = win.window_start(arrival, size)
    assert start <= arrival < start + size and start % size == 0


def test_no_records_share_no_window() -> None:
    assert win.same_window([], 10.0) == 0


@given(st.lists(arrivals, min_size=1, max_size=30), sizes)
def test_the_leading_run_shares_the_first_window(times: list[float], size: float) -> None:
    times.sort()
    count = win.same_window(times, size)
    first = win.window_start(times[0], size)
    assert 1 <= count <= len(times)
    assert all(win.window_start(t, size) == first for t in times[:count])
    assert count == len(times) or win.window_start(times[count], size) != first


def test_a_window_closes_early_or_when_its_end_has_passed() -> None:
    assert not win.closing(None, 10.0, None, 100.0, early=True)  # no open window
    assert win.closing(0.0, 10.0, 5.0, 1.0, early=True)
    assert not win.closing(0.0, 10.0, None, 9.99, early=False)
    assert win.closing(0.0, 10.0, None, 10.0, early=False)
    assert not win.closing(0.0, 10.0, 9.0, 11.0, early=False)  # a record of it is unread
    assert win.closing(0.0, 10.0, 10.0, 11.0, early=False)


def test_the_returned_state_is_an_object_or_empty() -> None:
    assert win.returned_state({"state": {"n": 1}}) == {"n": 1}
    assert win.returned_state({"state": [1]}) == {}
    assert win.returned_state({"other": 1}) == {}
    assert win.returned_state("not a dict") == {}


def test_a_state_over_one_megabyte_is_too_big() -> None:
    assert not win.too_big({"s": "x" * 1000})
    assert win.too_big({"s": "x" * win.MAX_STATE_BYTES})
