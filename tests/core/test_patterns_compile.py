"""Validating and compiling patterns: structure, every operator's rules, limits, ``$or``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stormproof.core.patterns.parse import MAX_BRANCHES, compile_branches
from stormproof.errors import InvalidPattern
from stormproof.patterns import MAX_PATTERN_LENGTH, compile


def reason(pattern: Any) -> str:
    with pytest.raises(InvalidPattern) as caught:
        compile(pattern)
    assert str(caught.value) == f"Event pattern is not valid. Reason: {caught.value.reason}"
    return caught.value.reason


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ([1], "Filter is not an object"),
        ("[1]", "Filter is not an object"),
        ({}, "Empty objects are not allowed"),
        ({"a": {}}, "Empty objects are not allowed"),
        ({"a": []}, "Empty arrays are not allowed"),
        ({"a": 1}, '"a" must be an object or an array'),
        ({"a": [[1]]}, "Match value must be String, number, true, false, or null"),
        ({"a": [{}]}, "Match expression name not found"),
        ({"a": [{"NUMERIC": [">", 1]}]}, "Unrecognized match type NUMERIC"),
        ({"a": [{"prefix": "x", "suffix": "y"}]}, "Only one key allowed in match expression"),
        ({"a": [{"exactly": 1}]}, "exact match pattern must be a string"),
        ({"a": [{"exists": "yes"}]}, "exists match pattern must be either true or false."),
        ({"a": [{"prefix": {}}]}, "Prefix expression name not found"),
        ({"a": [{"prefix": {"wildcard": "x"}}]}, "Unsupported prefix pattern: wildcard"),
        (
            {"a": [{"suffix": {"equals-ignore-case": 1}}]},
            "equals-ignore-case match pattern must be a string",
        ),
        ({"a": [{"suffix": {"x": "y"}}]}, "Unsupported suffix pattern: x"),
        ({"a": [{"cidr": 10}]}, "prefix match pattern must be a string"),
        ({"a": [{"wildcard": "a**"}]}, "Consecutive wildcard characters at pos 2"),
    ],
)
def test_structure_and_operator_errors(pattern: Any, expected: str) -> None:
    assert reason(pattern) == expected


@pytest.mark.parametrize(
    ("numeric", "expected"),
    [
        (10, "Value of numeric must be an array."),
        ([], "Invalid member in numeric match: ]"),
        ([5], "Invalid member in numeric match: 5"),
        (["!=", 5], "Unrecognized numeric range operator: !="),
        (["=", "5"], "Value of equals must be numeric"),
        (["=", True], "Value of equals must be numeric"),
        (["=", 5, 6], "Too many elements in numeric expression"),
        (["<", 5, ">", 1], "Too many elements in numeric expression"),
        ([">", 0, ">", 0], "Bad numeric range operator: >"),
        ([">", 0, 5], "Bad value in numeric range: 5"),
        ([">", 0, "<"], "Value of < must be numeric"),
        ([">", 0, "<", 5, 6], "Too many terms in numeric range expression"),
        ([">", 5, "<", 5], "Bottom must be less than top"),
        ([">=", 6, "<=", 5], "Bottom must be less than top"),
    ],
)
def test_numeric_errors(numeric: Any, expected: str) -> None:
    assert reason({"n": [{"numeric": numeric}]}) == expected


def test_extra_key_after_numeric_uses_event_ruler_wording() -> None:
    pattern = {"n": [{"numeric": [">", 1], "prefix": "x"}]}
    assert reason(pattern) == "Too many elements in numeric expression"


MIXED = (
    "Inside anything but list, either all values are number or string, mixed type is not supported"
)
SHAPE = "Value of anything-but must be an array or single string/number value."
IGNORE_CASE_TYPE = (
    "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."
)


@pytest.mark.parametrize(
    ("anything_but", "expected"),
    [
        (None, SHAPE),
        (True, SHAPE),
        ([], MIXED),
        (["a", 1], MIXED),
        (["a", None], "Inside anything but list, start|null|boolean is not supported."),
        ({}, "Anything-But expression name not found"),
        ({"numeric": [">", 1]}, "Unsupported anything-but pattern: numeric"),
        ({"prefix": ""}, "Null prefix/suffix not allowed"),
        ({"suffix": [".a", ""]}, "Null prefix/suffix not allowed"),
        ({"prefix": {"equals-ignore-case": "x"}}, SHAPE),
        ({"equals-ignore-case": [1]}, IGNORE_CASE_TYPE),
        ({"wildcard": ["a**"]}, "Consecutive wildcard characters at pos 2"),
        ({"prefix": "a", "suffix": "b"}, "Too many elements in numeric expression"),
    ],
)
def test_anything_but_errors(anything_but: Any, expected: str) -> None:
    assert reason({"f": [{"anything-but": anything_but}]}) == expected


def test_invalid_json_text() -> None:
    assert "Expecting" in reason("{'bad': 'quotation'}")
    assert "NaN is not valid JSON" in reason('{"a": [NaN]}')


def test_non_json_mapping() -> None:
    assert "not JSON" in reason({"a": [object()]})


def test_length_limit() -> None:
    filler = "x" * (MAX_PATTERN_LENGTH - len('{"a":[""]}'))
    compile(f'{{"a":["{filler}"]}}')
    assert "4096" in reason(f'{{"a":["{filler}x"]}}')
    # Mappings are measured as compact JSON text.
    compile({"a": [filler]})
    assert "4096" in reason({"a": [filler + "x"]})


def test_deep_nesting_is_refused_cleanly() -> None:
    assert reason("[" * 3000 + "]" * 3000)


class TestOr:
    def test_branches_multiply(self) -> None:
        pattern = {
            "source": ["s"],
            "$or": [{"a": [1]}, {"b": [2]}],
            "detail": {"$or": [{"c": [3]}, {"d": [4]}, {"e": [5]}]},
        }
        branches = compile_branches(pattern)
        assert len(branches) == 6
        assert all(dict(b.conditions).keys() >= {"source"} for b in branches)
        paths = {tuple(sorted(dict(b.conditions))) for b in branches}
        assert ("a", "detail.c", "source") in paths

    def test_needs_two_objects(self) -> None:
        message = "There must have at least 2 Objects in $or relationship."
        assert reason({"$or": [{"a": [1]}]}) == message

    def test_reserved_names_inside_or_fall_back_to_a_plain_field(self) -> None:
        # event-ruler's legacy compiler reads this "$or" as a field with two alternatives.
        pattern = compile({"$or": [{"numeric": [">", 10]}, {"prefix": "abc"}]})
        assert pattern.paths == {"$or"}

    def test_object_value_is_a_plain_field(self) -> None:
        assert compile({"$or": {"a": ["x"]}}).paths == {"$or.a"}

    def test_first_error_is_reported_when_both_readings_fail(self) -> None:
        assert reason({"$or": [{"a": [1]}]}).startswith("There must have")
        only_objects = "Only JSON object is allowed in array of $or relationship."
        assert reason({"$or": [1, {"a": [1]}]}) == only_objects

    def test_values_make_a_plain_field(self) -> None:
        assert compile({"$or": [1, 2]}).paths == {"$or"}

    def test_branch_explosion_is_refused(self) -> None:
        pattern = {f"k{i}": {"$or": [{"a": [1]}, {"b": [2]}]} for i in range(11)}
        assert MAX_BRANCHES < 2**11
        assert "too complex" in reason(pattern)


def test_duplicate_keys_keep_the_last() -> None:
    text = (
        '{"detail": {"location": [{"prefix": "us-"}], "location": [{"anything-but": "us-east"}]}}'
    )
    pattern = compile(text)
    (branch,) = pattern.branches
    ((path, condition),) = branch.conditions
    assert path == "detail.location"
    assert condition.exact == frozenset() and len(condition.others) == 1


def test_dotted_and_nested_keys_are_one_path() -> None:
    assert compile({"a": {"b.c": [1]}}).paths == compile({"a.b": {"c": [1]}}).paths == {"a.b.c"}


def test_wildcard_complexity_is_checked_per_field() -> None:
    message = (
        "Rule is too complex - try using fewer wildcard characters or fewer repeating character "
        "sequences after a wildcard character"
    )
    names = ("Shared", "App", "Data", "Monitoring")
    assert reason({"f": [{"wildcard": f"*:stack/{n}/*"} for n in names]}) == message
    # The same patterns spread over two fields are fine.
    compile(
        {
            "f": [{"wildcard": f"*:stack/{n}/*"} for n in names[:2]],
            "g": [{"wildcard": f"*:stack/{n}/*"} for n in names[2:]],
        }
    )


def test_compile_accepts_text_bytes_and_compiled() -> None:
    text = json.dumps({"source": ["a"]})
    compiled = compile(text)
    assert compile(compiled) is compiled
    assert compile(text.encode()).paths == {"source"}
