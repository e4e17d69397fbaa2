"""Intrinsic functions: parsing, escaping, each function, and round trips."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stormproof.core.asl import intrinsics
from stormproof.core.asl.failure import StatesError
from stormproof.core.asl.intrinsic_syntax import is_intrinsic

INPUT: dict[str, Any] = {"a": [1, 2, 2, 3], "s": "x,y", "o": {"k": 1}}


def run(text: str, data: Any = None) -> Any:
    doc = INPUT if data is None else data

    def resolve(path: str) -> Any:
        from stormproof.core.asl import paths

        return paths.select(path, doc)

    return intrinsics.evaluate(text, resolve, random.Random(1))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("States.Array(1, 'two', $.o)", [1, "two", {"k": 1}]),
        ("States.ArrayPartition($.a, 3)", [[1, 2, 2], [3]]),
        ("States.ArrayContains($.a, 3)", True),
        ("States.ArrayRange(1, 9, 2)", [1, 3, 5, 7, 9]),
        ("States.ArrayGetItem($.a, 3)", 3),
        ("States.ArrayLength($.a)", 4),
        ("States.ArrayUnique($.a)", [1, 2, 3]),
        ("States.Base64Encode('Data to encode')", "RGF0YSB0byBlbmNvZGU="),
        ("States.Hash('input data', 'MD5')", "812f45842bc6d66ee14572ce20db8e86"),
        ("States.JsonMerge($.o, States.StringToJson('{\"z\": 2}'), false)", {"k": 1, "z": 2}),
        ("States.MathAdd(1.5, -1.5)", 1),
        ("States.StringSplit($.s, ',')", ["x", "y"]),
        ("States.Format('{} and \\{\\}', $.o)", "{k=1} and {}"),
        ("States.Format('it\\'s {}', 'me')", "it's me"),
        ("States.ArrayGetItem(States.StringSplit('a-b', '-'), States.MathAdd(0, 1))", "b"),
    ],
)
def test_functions(text: str, expected: Any) -> None:
    assert run(text) == expected


def test_random_and_uuid_use_the_source_given() -> None:
    assert 10 <= run("States.MathRandom(10, 20)") < 20
    assert run("States.MathRandom(0, 999, 3)") == run("States.MathRandom(0, 999, 3)")
    first = run("States.UUID()")
    assert first == run("States.UUID()")
    assert len(first) == 36 and first[14] == "4"


@pytest.mark.parametrize(
    "text",
    [
        "States.Format('{} {}', 1)",
        "States.ArrayGetItem($.a, 10)",
        "States.NoSuchFunction(1)",
        "States.Array(1",
        "States.Base64Decode('***')",
    ],
)
def test_failures_are_states_runtime(text: str) -> None:
    with pytest.raises(StatesError) as info:
        run(text)
    assert info.value.error == "States.Runtime"


def test_detection() -> None:
    assert is_intrinsic("States.Format('x')")
    assert not is_intrinsic("$.States")


@given(json_values)
def test_json_to_string_round_trip(value: Any) -> None:
    text = run("States.JsonToString($.v)", {"v": value})
    assert json.loads(text) == value
    assert run("States.StringToJson($.t)", {"t": text}) == value


@given(st.text(max_size=50))
def test_base64_round_trip(text: str) -> None:
    encoded = run("States.Base64Encode($.t)", {"t": text})
    assert run("States.Base64Decode($.e)", {"e": encoded}) == text


@given(st.lists(st.integers(), max_size=30), st.integers(min_value=1, max_value=8))
def test_partition_preserves_items(items: list[int], size: int) -> None:
    chunks = run("States.ArrayPartition($.a, $.n)", {"a": items, "n": size})
    assert [x for chunk in chunks for x in chunk] == items
    assert all(1 <= len(chunk) <= size for chunk in chunks)
