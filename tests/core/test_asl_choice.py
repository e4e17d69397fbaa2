"""Choice rules: operators, Path forms, type tests and boolean combinators."""

from __future__ import annotations

from typing import Any

import pytest

from stormproof.core.asl import paths
from stormproof.core.asl.choice import evaluate_rule, parse_timestamp
from stormproof.core.asl.paths import PathError

DOC = {"n": 5, "s": "abc", "b": True, "t": "2024-01-01T00:00:00Z", "other": 5, "z": None}


def match(rule: dict[str, Any]) -> bool:
    return evaluate_rule(rule, lambda p: paths.select(p, DOC))


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"Variable": "$.n", "NumericEquals": 5}, True),
        ({"Variable": "$.n", "NumericLessThan": 5}, False),
        ({"Variable": "$.n", "NumericGreaterThanEqualsPath": "$.other"}, True),
        ({"Variable": "$.s", "NumericEquals": 5}, False),
        ({"Variable": "$.b", "NumericEquals": 1}, False),
        ({"Variable": "$.s", "StringEquals": "abc"}, True),
        ({"Variable": "$.s", "StringLessThan": "abd"}, True),
        ({"Variable": "$.s", "StringMatches": "a*"}, True),
        ({"Variable": "$.s", "StringMatches": "a\\*"}, False),
        ({"Variable": "$.b", "BooleanEquals": True}, True),
        ({"Variable": "$.t", "TimestampLessThan": "2024-01-01T00:00:01Z"}, True),
        ({"Variable": "$.s", "TimestampEquals": "2024-01-01T00:00:00Z"}, False),
        ({"Variable": "$.z", "IsNull": True}, True),
        ({"Variable": "$.missing", "IsPresent": False}, True),
        ({"Variable": "$.t", "IsTimestamp": True}, True),
        ({"Variable": "$.n", "IsNumeric": True}, True),
        ({"Variable": "$.s", "IsString": False}, False),
        ({"Variable": "$.b", "IsBoolean": True}, True),
        (
            {
                "And": [
                    {"Variable": "$.n", "NumericEquals": 5},
                    {"Variable": "$.b", "BooleanEquals": True},
                ]
            },
            True,
        ),
        (
            {
                "Or": [
                    {"Variable": "$.n", "NumericEquals": 4},
                    {"Variable": "$.s", "StringEquals": "x"},
                ]
            },
            False,
        ),
        ({"Not": {"Variable": "$.n", "NumericEquals": 4}}, True),
    ],
)
def test_rules(rule: dict[str, Any], expected: bool) -> None:
    assert match(rule) is expected


def test_missing_variable_is_an_error() -> None:
    with pytest.raises(PathError):
        match({"Variable": "$.missing", "NumericEquals": 1})


def test_timestamps_need_a_zone_and_valid_fields() -> None:
    assert parse_timestamp("2016-03-05T21:29:29.243167252Z") is not None
    assert parse_timestamp("2016-12-05T21:29:29") is None
    assert parse_timestamp("2016-13-05T21:29:29Z") is None
    assert parse_timestamp("2016-12-05 21:29:29Z") is None
