"""JSONPath filter expressions (`[?(...)]`): parsing and evaluation, edge by edge."""

from __future__ import annotations

import pytest

from stormproof.core.asl.path_filter import parse_filter


@pytest.mark.parametrize(
    ("text", "item", "expected"),
    [
        ("@.a == 1 || @.b == 2", {"a": 0, "b": 2}, True),
        ("@.a == 1 || @.b == 2", {"a": 0, "b": 0}, False),
        ("@.a == 1 && @.b == 2", {"a": 1, "b": 2}, True),
        ("@.a == 1 && @.b == 2", {"a": 1, "b": 3}, False),
        ("!@.a", {"b": 1}, True),
        ("!(@.a == 1)", {"a": 1}, False),
        ("(@.a == 1 || @.a == 2) && @.b", {"a": 2, "b": 0}, True),
        ("@.a", {"a": None}, True),
        ("@.a", {}, False),
        ("@.list[1] == 'x'", {"list": ["w", "x"]}, True),
        ("@.list[5] == 'x'", {"list": ["w"]}, False),
        ("@.list[0] == 'x'", {"list": "not a list"}, False),
        ("@['odd key'] == \"v\"", {"odd key": "v"}, True),
        ("@.s == 'it\\'s'", {"s": "it's"}, True),
        ("@.n >= 1.5e0", {"n": 2}, True),
        ("@.n < -1", {"n": -2}, True),
        ("@.n <= 3", {"n": 3}, True),
        ("@.n > 3", {"n": 3}, False),
        ("@.n != null", {"n": 0}, True),
        ("@.t == true", {"t": True}, True),
        ("@.t == false", {"t": False}, True),
        ("@.missing == 1", {"a": 1}, False),
        ("1 == @.missing", {"a": 1}, False),
        ("@.s < 3", {"s": "a string"}, False),  # mixed types select nothing, as in Jayway
        ("@.a.b == 1", {"a": 5}, False),  # a name under a non-object is missing
    ],
)
def test_filter_evaluates(text: str, item: object, expected: bool) -> None:
    assert parse_filter(text).matches(item) is expected


@pytest.mark.parametrize("text", ["@.a == 1 )", "@.a ~ 1", "@.a == ||", "#"])
def test_malformed_filters_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="filter"):
        parse_filter(text)
