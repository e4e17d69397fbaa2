"""Matching semantics: values, operators, arrays, absence and JSON array consistency."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from stormproof.errors import InvalidEvent
from stormproof.patterns import compile

ENVELOPE = {
    "id": "1",
    "account": "123456789012",
    "source": "test-source",
    "time": "2022-07-13T13:48:01Z",
    "region": "us-east-2",
    "detail-type": "test-detail-type",
}


def event(**fields: Any) -> dict[str, Any]:
    return {**ENVELOPE, **fields}


def matches(pattern: Any, detail: Any) -> bool:
    return compile({"detail": pattern}).matches(event(detail=detail))


@pytest.mark.parametrize(
    ("values", "value", "expected"),
    [
        ([300], 300.0, True),  # numbers compare as numbers (AWS matched 300.0 with [300])
        ([300], 3e2, True),
        ([300], "300", False),
        (["300"], 300, False),
        ([True], 1, False),  # true is not 1
        ([1], True, False),
        ([False], 0, False),
        ([None], None, True),
        ([None], "null", False),
        ([""], None, False),
        ([""], "", True),
        (["a"], ["b", "a"], True),  # an event array matches if any element does
        (["a"], [], False),
        ([None], [], False),
        (["a"], {"a": 1}, False),
        (["10.0.0.1"], "10.0.0.1", True),  # IP literals compare as addresses
        (["2001:db8::1"], "2001:0db8:0:0:0:0:0:1", True),
        (["2001:db8::1"], "2001:db8::2", False),
    ],
)
def test_exact_values(values: list[Any], value: Any, expected: bool) -> None:
    assert matches({"f": values}, {"f": value}) is expected


@pytest.mark.parametrize(
    ("expression", "value", "expected"),
    [
        ({"prefix": "ab"}, "abc", True),
        ({"prefix": "ab"}, 123, False),
        ({"prefix": ""}, "", True),
        ({"prefix": {"equals-ignore-case": "AB"}}, "aBc", True),
        ({"suffix": ".png"}, "x.PNG", False),
        ({"suffix": {"equals-ignore-case": ".png"}}, "x.PNG", True),
        ({"equals-ignore-case": "Alice"}, "aLiCe", True),
        ({"equals-ignore-case": "Alice"}, "alicia", False),
        ({"exactly": "a"}, "a", True),
        ({"wildcard": "a*c"}, "abbc", True),
        ({"wildcard": "a*c"}, 1, False),
        ({"numeric": [">", 0, "<=", 5]}, 5, True),
        ({"numeric": [">", 0, "<=", 5]}, 0, False),
        ({"numeric": [">=", 0, "<", 5]}, 0, True),
        ({"numeric": ["<", 5]}, 4.999, True),
        ({"numeric": ["=", 301.8]}, 301.8, True),
        ({"numeric": [">", 0]}, True, False),
        ({"numeric": [">", 0]}, "5", False),
        ({"numeric": [">", 0]}, None, False),
        ({"numeric": [">", -1e308]}, 10**400, True),
        ({"cidr": "10.0.0.0/24"}, "10.0.0.9", True),
        ({"exists": True}, None, True),
        ({"exists": True}, "x", True),
    ],
)
def test_operators(expression: dict[str, Any], value: Any, expected: bool) -> None:
    assert matches({"f": [expression]}, {"f": value}) is expected


@pytest.mark.parametrize(
    ("anything_but", "value", "expected"),
    [
        ("init", "init", False),
        ("init", "other", True),
        ("init", None, True),  # null is anything but "init"
        ("init", 12, True),
        ([100, 200], 100.0, False),
        ([100, 200], "100", True),
        ({"prefix": "init"}, "initial", False),
        ({"prefix": "init"}, 12, True),
        ({"suffix": [".txt", ".jpg"]}, "a.jpg", False),
        ({"equals-ignore-case": ["Stopped"]}, "STOPPED", False),
        ({"wildcard": "*/init/*"}, "dir/init/file", False),
        ({"wildcard": ""}, "x", True),
    ],
)
def test_anything_but(anything_but: Any, value: Any, expected: bool) -> None:
    assert matches({"f": [{"anything-but": anything_but}]}, {"f": value}) is expected


def test_anything_but_needs_the_field() -> None:
    assert not matches({"f": [{"anything-but": "x"}]}, {"g": 1})


def test_anything_but_over_an_array_needs_one_other_element() -> None:
    assert matches({"f": [{"anything-but": "a"}]}, {"f": ["a", "b"]})
    assert not matches({"f": [{"anything-but": "a"}]}, {"f": ["a", "a"]})


class TestExists:
    def test_false_matches_missing_and_object_fields(self) -> None:
        assert matches({"f": [{"exists": False}]}, {"g": 1})
        assert matches({"f": [{"exists": False}]}, {"f": {"nested": 1}})
        assert not matches({"f": [{"exists": False}]}, {"f": None})

    def test_true_needs_a_leaf(self) -> None:
        assert not matches({"f": [{"exists": True}]}, {"f": {"nested": 1}})
        assert not matches({"f": [{"exists": True}]}, {"f": []})
        assert matches({"f": [{"exists": True}]}, {"f": [{"g": 1}, 2]})

    def test_alternatives_are_ored(self) -> None:
        pattern = {"s": [{"anything-but": ["roses"]}, {"exists": False}]}
        assert matches(pattern, {"s": "tulips"})
        assert matches(pattern, {})
        assert not matches(pattern, {"s": "roses"})


def test_fields_are_anded_and_key_names_case_sensitive() -> None:
    pattern = {"a": [1], "b": ["x"]}
    assert matches(pattern, {"a": 1, "b": "x"})
    assert not matches(pattern, {"a": 1, "B": "x"})


def test_or() -> None:
    pattern = {"$or": [{"a": [1]}, {"b": [{"prefix": "x"}]}]}
    assert matches(pattern, {"b": "xy"})
    assert not matches(pattern, {"a": 2, "b": "y"})


def test_dotted_keys_in_events() -> None:
    assert matches({"state": {"status": ["running"]}}, {"state.status": "running"})


def test_arrays_of_objects_are_crushed() -> None:
    detail = {"employees": [[{"first": "John"}, {"first": "Anna"}], [{"first": "Peter"}]]}
    assert matches({"employees": {"first": ["Anna"]}}, detail)


EMPLOYEES = {
    "employees": [
        {"first": "John", "last": "Doe"},
        {"first": "Anna", "last": "Smith"},
        {"first": "Peter", "last": "Jones"},
    ]
}


class TestArrayConsistency:
    def test_fields_of_one_element_combine(self) -> None:
        assert matches({"employees": {"first": ["Anna"], "last": ["Smith"]}}, EMPLOYEES)

    def test_fields_of_different_elements_do_not(self) -> None:
        assert not matches({"employees": {"first": ["Anna"], "last": ["Jones"]}}, EMPLOYEES)

    def test_absence_is_judged_within_the_chosen_element(self) -> None:
        detail = {"employees": [{"name": "Anna", "manager": "Bo"}, {"name": "Cy"}]}
        assert matches({"employees": {"name": ["Cy"], "manager": [{"exists": False}]}}, detail)
        assert not matches(
            {"employees": {"name": ["Anna"], "manager": [{"exists": False}]}}, detail
        )

    def test_nested_arrays(self) -> None:
        detail = {
            "orders": [
                {"id": 1, "lines": [{"sku": "a"}, {"sku": "b"}]},
                {"id": 2, "lines": [{"sku": "c"}]},
            ]
        }
        assert matches({"orders": {"id": [1], "lines": {"sku": ["b"]}}}, detail)
        assert not matches({"orders": {"id": [2], "lines": {"sku": ["b"]}}}, detail)

    def test_fields_outside_the_array_combine_with_any_element(self) -> None:
        detail = {"kind": "k", "items": [{"a": 1}, {"a": 2}]}
        assert matches({"kind": ["k"], "items": {"a": [2]}}, detail)

    def test_hostile_event_is_answered_quickly(self) -> None:
        # Every "a" and every "b" matches, but never in the same element: a naive search
        # would try 2,000 x 2,000 pairs.
        detail = {"x": [{"a": i} if i % 2 else {"b": i} for i in range(4000)]}
        pattern = {"x": {"a": [{"numeric": [">=", 0]}], "b": [{"numeric": [">=", 0]}]}}
        start = time.perf_counter()
        assert not matches(pattern, detail)
        assert time.perf_counter() - start < 1.0

    def test_absence_in_a_large_array(self) -> None:
        detail = {"x": [{"a": i, "c": i} for i in range(3000)]}
        pattern = {"x": {"a": [{"exists": True}], "c": [{"exists": False}]}}
        start = time.perf_counter()
        assert not matches(pattern, detail)
        detail["x"].append({"a": 3000})  # the one element without "c"
        assert matches(pattern, detail)
        assert time.perf_counter() - start < 1.0


class TestEvents:
    def test_text_and_mapping_agree(self) -> None:
        pattern = compile({"source": ["test-source"]})
        assert pattern.matches(json.dumps(event())) and pattern.matches(event())

    @pytest.mark.parametrize(
        "bad",
        ["plain string", '["plain string"]', '{"testEvent": "value"}', "{", '{"id": NaN}', 42],
    )
    def test_invalid_events(self, bad: Any) -> None:
        with pytest.raises(InvalidEvent):
            compile({"source": ["x"]}).matches(bad)

    def test_missing_envelope_field(self) -> None:
        incomplete = {k: v for k, v in ENVELOPE.items() if k != "region"}
        with pytest.raises(InvalidEvent, match="region"):
            compile({"source": ["x"]}).matches(incomplete)

    def test_non_json_value_in_a_mapping(self) -> None:
        with pytest.raises(InvalidEvent):
            compile({"detail": {"f": ["x"]}}).matches(event(detail={"f": object()}))

    def test_deep_events_do_not_exhaust_the_stack(self) -> None:
        deep: Any = "leaf"
        for _ in range(5000):
            deep = {"n": deep}
        pattern = compile({"detail": {"other": [{"exists": False}]}})
        assert pattern.matches(event(detail=deep))
