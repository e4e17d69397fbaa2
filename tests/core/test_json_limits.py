"""The depth limit and strict JSON of user documents (issue 12 items 4 and 5)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stormproof.core import json_limits
from stormproof.errors import InvalidAttribute, NestingTooDeep


def nested(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"a": value}
    return value


def test_the_limit_itself_passes_and_one_more_level_is_refused() -> None:
    assert json.loads(json_limits.dumps("body", nested(json_limits.MAX_DEPTH))) is not None
    with pytest.raises(NestingTooDeep) as info:
        json_limits.dumps("body", nested(json_limits.MAX_DEPTH + 1))
    assert (info.value.field, info.value.limit) == ("body", json_limits.MAX_DEPTH)


def test_5000_levels_are_refused_without_recursion_error() -> None:
    with pytest.raises(NestingTooDeep):
        json_limits.dumps("body", nested(5000))
    with pytest.raises(NestingTooDeep):
        json_limits.loads("definition", "[" * 3000 + "]" * 3000)


def test_a_cycle_ends_as_too_deep() -> None:
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    with pytest.raises(NestingTooDeep):
        json_limits.dumps("body", cyclic)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {"x": -float("inf")}])
def test_nan_and_infinity_are_refused_both_ways(value: Any) -> None:
    with pytest.raises(InvalidAttribute) as info:
        json_limits.dumps("body", value)
    assert info.value.field == "body"
    with pytest.raises(ValueError, match="not valid JSON"):
        json_limits.loads("body", '{"x": NaN}')


@given(
    st.recursive(
        st.none() | st.integers() | st.text(), lambda c: st.lists(c) | st.dictionaries(st.text(), c)
    )
)
def test_depth_over_agrees_with_a_recursive_count(value: Any) -> None:
    def depth(v: Any) -> int:
        if isinstance(v, dict):
            return 1 + max((depth(x) for x in v.values()), default=0)
        if isinstance(v, list):
            return 1 + max((depth(x) for x in v), default=0)
        return 0

    for limit in (0, 1, 2, 3):
        assert json_limits.depth_over(value, limit) == (depth(value) > limit)
