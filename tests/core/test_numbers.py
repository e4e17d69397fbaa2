"""The whole-number check: ints in range pass, bools and everything else name the field."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stormproof.core.numbers import is_whole, whole_number
from stormproof.errors import InvalidAttribute


@given(st.integers(-100, 100), st.integers(-50, 50), st.integers(0, 50))
def test_accepts_exactly_the_closed_interval(value: int, low: int, width: int) -> None:
    high = low + width
    if low <= value <= high:
        assert whole_number("n", value, low, high) == value
    else:
        with pytest.raises(InvalidAttribute) as info:
            whole_number("n", value, low, high)
        assert (info.value.field, info.value.value) == ("n", value)
        assert info.value.allowed == f"an integer from {low} to {high}"


@given(st.integers(-(10**12), 10**12))
def test_no_upper_bound_when_high_is_none(value: int) -> None:
    if value >= 1:
        assert whole_number("n", value, 1) == value
    else:
        with pytest.raises(InvalidAttribute, match="an integer >= 1"):
            whole_number("n", value, 1)


@pytest.mark.parametrize("value", [True, False, 1.0, "1", None, [1]])
def test_bools_floats_and_others_are_not_whole(value: Any) -> None:
    assert not is_whole(value)
    with pytest.raises(InvalidAttribute) as info:
        whole_number("count", value, 0, 10, allowed="a count")
    assert info.value.allowed == "a count"
