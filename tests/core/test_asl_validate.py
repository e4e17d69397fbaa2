"""Unit tests for ASL validation: structure, transitions, state fields and query languages."""

from __future__ import annotations

import json
import string
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stormproof.core.asl.validate import find_problems, validate
from stormproof.errors import InvalidDefinition


def problems(definition: Any, **kwargs: Any) -> list[tuple[str, str]]:
    """The problems ``validate`` raises for ``definition`` (it must raise)."""
    with pytest.raises(InvalidDefinition) as info:
        validate(definition, **kwargs)
    return info.value.problems


def paths(definition: Any, **kwargs: Any) -> list[str]:
    return [path for path, _ in problems(definition, **kwargs)]


def single(state: dict[str, Any], **top: Any) -> dict[str, Any]:
    """A machine of one state named S."""
    return {"StartAt": "S", "States": {"S": state}, **top}


PASS_END = {"Type": "Pass", "End": True}
# A minimal body of each state type that needs more than Type and End.
BASE: dict[str, dict[str, Any]] = {
    "Pass": {"Type": "Pass"},
    "Task": {"Type": "Task", "Resource": "arn:aws:lambda:r:1:function:f"},
    "Map": {"Type": "Map", "ItemProcessor": {"StartAt": "I", "States": {"I": PASS_END}}},
}


# --- accepted definitions ---------------------------------------------------


def test_minimal_machine_is_accepted_as_dict_text_and_bytes() -> None:
    definition = single(PASS_END)
    validate(definition)
    validate(json.dumps(definition))
    validate(json.dumps(definition).encode())
    assert find_problems(definition) == []


def test_every_state_type_in_one_valid_machine() -> None:
    definition = {
        "Comment": "all types",
        "Version": "1.0",
        "TimeoutSeconds": 60,
        "StartAt": "Pass",
        "States": {
            "Pass": {"Type": "Pass", "Result": {"a": 1}, "ResultPath": "$.r", "Next": "Task"},
            "Task": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "f", "Payload.$": "$"},
                "TimeoutSeconds": 10,
                "HeartbeatSeconds": 5,
                "Retry": [{"ErrorEquals": ["States.Timeout"]}, {"ErrorEquals": ["States.ALL"]}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Fail", "ResultPath": "$.e"}],
                "Next": "Wait",
            },
            "Wait": {"Type": "Wait", "Seconds": 0, "Next": "Choice"},
            "Choice": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.x", "NumericEquals": 1, "Next": "Parallel"}],
                "Default": "Map",
            },
            "Parallel": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Succeed"}}}],
                "Next": "Done",
            },
            "Map": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {"StartAt": "I", "States": {"I": PASS_END}},
                "Next": "Done",
            },
            "Done": {"Type": "Succeed"},
            "Fail": {"Type": "Fail", "Error": "Oops", "Cause": "because"},
        },
    }
    validate(definition)


def test_jsonata_machine_with_arguments_output_assign() -> None:
    definition = single(
        {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Arguments": {"Payload": "{% $states.input %}"},
            "Output": "{% $states.result.Payload %}",
            "Assign": {"x": "{% $states.result %}"},
            "End": True,
        },
        QueryLanguage="JSONata",
    )
    validate(definition)


# --- top level and blocks ---------------------------------------------------


def test_missing_start_at_and_states_are_both_reported() -> None:
    assert problems({}) == [
        ("$", "field 'StartAt' is required"),
        ("$", "field 'States' is required"),
    ]


def test_start_at_must_name_a_state() -> None:
    # Reachability is not judged from a start that does not exist.
    assert paths({"StartAt": "Nope", "States": {"S": PASS_END}}) == ["$.StartAt"]


@pytest.mark.parametrize("text", [" ", "not a definition", "[1]", '{"a": NaN}'])
def test_text_that_is_not_a_json_object(text: str) -> None:
    assert paths(text) == ["$"]


def test_a_definition_of_the_wrong_python_type() -> None:
    assert paths(42) == ["$"]


def test_duplicate_keys_in_json_text_are_reported() -> None:
    text = '{"StartAt": "S", "States": {"S": {"Type": "Pass", "End": true, "End": true}}}'
    assert paths(text) == ["$.States.S.End"]


@pytest.mark.parametrize(
    ("top", "path"),
    [
        ({"Version": "2.0"}, "$.Version"),
        ({"TimeoutSeconds": 0}, "$.TimeoutSeconds"),
        ({"TimeoutSeconds": 100_000_000}, "$.TimeoutSeconds"),
        ({"QueryLanguage": "XPath"}, "$.QueryLanguage"),
        ({"Comment": 7}, "$.Comment"),
        ({"Extra": 1}, "$.Extra"),
    ],
)
def test_top_level_fields(top: dict[str, Any], path: str) -> None:
    assert paths(single(PASS_END, **top)) == [path]


def test_states_must_be_a_non_empty_object() -> None:
    assert paths({"StartAt": "S", "States": {}}) == ["$.States"]


def test_machine_type_must_be_known() -> None:
    with pytest.raises(ValueError, match="machine_type"):
        validate(single(PASS_END), machine_type="FAST")


# --- transitions --------------------------------------------------------------


def test_next_to_nowhere() -> None:
    definition = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "C": PASS_END}}
    found = problems(definition)
    assert ("$.States.A.Next", "'B' does not name a state in this States object") in found
    assert ("$.States.C", "state 'C' is not reachable from StartAt") in found


def test_missing_next_and_end() -> None:
    assert problems(single({"Type": "Pass"})) == [
        ("$.States.S", "a non-terminal state must have Next or End: true"),
        ("$.States", "no terminal state: add a Succeed, Fail or End: true state"),
    ]


def test_end_false_without_next_is_not_terminal() -> None:
    assert "$.States.S" in paths(single({"Type": "Pass", "End": False}))


def test_end_with_next_and_non_boolean_end() -> None:
    definition = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True, "Next": "A"}}}
    assert paths(definition) == ["$.States.A.Next"]
    assert paths(single({"Type": "Pass", "End": "yes"})) == [
        "$.States.S.End",
        "$.States.S",
        "$.States",
    ]


def test_unreachable_state() -> None:
    definition = {"StartAt": "A", "States": {"A": PASS_END, "B": PASS_END}}
    assert problems(definition) == [("$.States.B", "state 'B' is not reachable from StartAt")]


def test_catch_and_default_targets_count_as_reachable() -> None:
    definition = {
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.a", "IsPresent": True, "Next": "T"}],
                "Default": "D",
            },
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:1:function:f",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "H"}],
                "End": True,
            },
            "D": {"Type": "Succeed"},
            "H": {"Type": "Fail"},
        },
    }
    validate(definition)


def test_loop_without_terminal_state() -> None:
    definition = {
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}},
    }
    assert paths(definition) == ["$.States"]


def test_state_names() -> None:
    long_name = "x" * 81
    assert paths({"StartAt": long_name, "States": {long_name: PASS_END}}) == [
        f"$.States.{long_name}"
    ]
    validate({"StartAt": "y" * 80, "States": {"y" * 80: PASS_END}})


def test_state_names_are_unique_across_branches() -> None:
    branch = {"StartAt": "S", "States": {"S": PASS_END}}
    definition = single({"Type": "Parallel", "Branches": [branch], "End": True})
    assert problems(definition) == [
        ("$.States.S.Branches[0].States.S", "state name 'S' is already used at $.States.S")
    ]


def test_names_that_are_not_identifiers_use_bracket_paths() -> None:
    definition = {"StartAt": "my 'state'", "States": {"my 'state'": {"Type": "Pass"}}}
    assert paths(definition)[0] == "$.States['my \\'state\\'']"


def test_all_problems_are_reported_at_once() -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "Missing", "Bogus": 1},
            "B": {"Type": "Wait", "Seconds": 1, "Timestamp": "2024-01-01T00:00:00Z", "End": True},
            "C": {"Type": "Task", "End": True},
        },
    }
    assert paths(definition) == [
        "$.States.A.Bogus",
        "$.States.B.Timestamp",
        "$.States.C",
        "$.States.A.Next",
        "$.States.B",
        "$.States.C",
    ]


# --- state types and fields ---------------------------------------------------


def test_type_is_required_and_known() -> None:
    assert paths(single({"End": True})) == ["$.States.S"]
    assert paths(single({"Type": "Sleep", "End": True}))[0] == "$.States.S.Type"


@pytest.mark.parametrize(
    ("state", "field"),
    [
        ({"Type": "Choice", "Choices": [], "ResultPath": "$.x"}, "ResultPath"),
        ({"Type": "Choice", "Choices": [], "Parameters": {}}, "Parameters"),
        ({"Type": "Fail", "InputPath": "$"}, "InputPath"),
        ({"Type": "Fail", "ResultPath": "$"}, "ResultPath"),
        ({"Type": "Succeed", "Next": "S"}, "Next"),
        ({"Type": "Succeed", "Retry": []}, "Retry"),
        ({"Type": "Wait", "Seconds": 1, "Parameters": {}, "End": True}, "Parameters"),
        ({"Type": "Pass", "Catch": [], "End": True}, "Catch"),
        ({"Type": "Pass", "Resource": "x", "End": True}, "Resource"),
    ],
)
def test_unknown_fields_per_state_type(state: dict[str, Any], field: str) -> None:
    assert f"$.States.S.{field}" in paths(single(state))


@pytest.mark.parametrize(
    ("state_type", "field"),
    [
        ("Pass", "Parameters"),
        ("Pass", "InputPath"),
        ("Pass", "OutputPath"),
        ("Pass", "ResultPath"),
        ("Pass", "Result"),
        ("Task", "ResultSelector"),
        ("Task", "TimeoutSecondsPath"),
        ("Map", "ItemsPath"),
    ],
)
def test_jsonpath_fields_are_rejected_in_jsonata_mode(state_type: str, field: str) -> None:
    value: Any = {} if field in ("Parameters", "ResultSelector", "Result") else "$.x"
    state = {**BASE[state_type], field: value, "End": True}
    assert problems(single(state, QueryLanguage="JSONata")) == [
        (f"$.States.S.{field}", f"field '{field}' is not supported when QueryLanguage is JSONata")
    ]


@pytest.mark.parametrize("field", ["Arguments", "Output"])
def test_jsonata_fields_are_rejected_in_jsonpath_mode(field: str) -> None:
    state = {"Type": "Task", "Resource": "arn:aws:lambda:r:1:function:f", field: {}, "End": True}
    assert paths(single(state)) == [f"$.States.S.{field}"]


def test_state_level_query_language() -> None:
    jsonata_pass = {"Type": "Pass", "QueryLanguage": "JSONata", "Output": {}, "End": True}
    validate(single(jsonata_pass))
    downgrade = {"Type": "Pass", "QueryLanguage": "JSONPath", "End": True}
    assert problems(single(downgrade, QueryLanguage="JSONata")) == [
        (
            "$.States.S",
            "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
        )
    ]
    assert paths(single({**PASS_END, "QueryLanguage": "SQL"})) == ["$.States.S.QueryLanguage"]


def test_comment_types() -> None:
    assert paths(single({**PASS_END, "Comment": 1})) == ["$.States.S.Comment"]
    validate(single({**PASS_END, "Comment": ""}))


# --- properties ---------------------------------------------------------------

_NAMES = st.text(
    alphabet=string.ascii_letters + string.digits + " _-.'[]$", min_size=1, max_size=80
)


def _chain(names: list[str]) -> dict[str, Any]:
    states: dict[str, Any] = {}
    for name, following in zip(names, [*names[1:], None], strict=True):
        states[name] = {"Type": "Pass", "Next": following} if following else dict(PASS_END)
    return {"StartAt": names[0], "States": states}


@given(st.lists(_NAMES, min_size=1, max_size=12, unique=True))
def test_linear_pass_chains_are_accepted(names: list[str]) -> None:
    validate(_chain(names))
    validate(json.dumps(_chain(names)))


@given(st.lists(_NAMES, min_size=2, max_size=12, unique=True), st.data())
def test_removing_a_referenced_state_is_reported(names: list[str], data: st.DataObject) -> None:
    position = data.draw(st.integers(min_value=1, max_value=len(names) - 1))
    definition = _chain(names)
    del definition["States"][names[position]]
    found = find_problems(definition)
    target = names[position]
    referrer = json.dumps(definition)  # keep the assertion message readable on failure
    expected = f"'{target}' does not name a state in this States object"
    assert any(message == expected for _, message in found), referrer
    next_paths = [path for path, message in found if message == expected]
    assert next_paths[0].endswith(".Next")
