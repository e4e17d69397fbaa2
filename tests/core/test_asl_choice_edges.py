"""Choice rules and intrinsic functions at their refusals: what a malformed rule or call raises."""

from __future__ import annotations

import random
from typing import Any

import pytest

from stormproof.core.asl import intrinsics, paths
from stormproof.core.asl.choice import evaluate_rule
from stormproof.core.asl.failure import StatesError
from stormproof.core.asl.paths import PathError

DOC: dict[str, Any] = {"s": "abc", "n": 3, "f": 2.0, "t": True}


def resolve(path: str) -> Any:
    return paths.select(path, DOC)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"StringEquals": "x"}, "needs a Variable"),
        ({"Variable": "$.s", "Next": "N"}, "needs a comparison operator"),
        ({"Variable": "$.s", "StringResembles": "x"}, "Unsupported Choice operator"),
        ({"Variable": "$.s", "IsFancy": True}, "Unsupported Choice operator"),
    ],
)
def test_malformed_rules_are_refused(rule: dict[str, Any], message: str) -> None:
    with pytest.raises(PathError, match=message):
        evaluate_rule(rule, resolve)


def test_matches_refuses_what_is_not_a_string() -> None:
    assert evaluate_rule({"Variable": "$.n", "StringMatches": "*"}, resolve) is False


def run(text: str) -> Any:
    return intrinsics.evaluate(text, resolve, random.Random(1))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("States.Format('{} {} {} {}', $.t, null, $.f, false)", "true null 2.0 false"),
        ("States.StringToJson(' ')", None),
        ("States.MathAdd($.f, 1)", 3),
    ],
)
def test_format_and_conversions(text: str, expected: Any) -> None:
    assert run(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "States.Format()",
        "States.Format($.n)",
        "States.StringToJson('{oops')",
        "States.MathAdd(1)",
        "States.MathAdd($.t, 1)",
    ],
)
def test_bad_calls_are_states_runtime(text: str) -> None:
    with pytest.raises(StatesError) as info:
        run(text)
    assert info.value.error == "States.Runtime"
