"""Pass, Succeed, Fail and Choice in both query languages, and the JSONPath and JSONata
evaluation they share (core/asl/flow_states.py, jsonpath_io.py, jsonata_mode.py), run
through the virtual-clock simulator."""

from __future__ import annotations

import random
from typing import Any

import pytest

from stormproof.core.asl import jsonata_mode
from stormproof.core.asl.failure import StatesError
from stormproof.core.asl.simulate import SimResult, simulate


def one(state: dict[str, Any], value: Any = None, *, jsonata: bool = False) -> SimResult:
    """Run a one-state machine (``A``) on ``value``."""
    machine: dict[str, Any] = {"StartAt": "A", "States": {"A": state}}
    if jsonata:
        machine["QueryLanguage"] = "JSONata"
    return simulate(machine, value)


def pass_then(state: dict[str, Any], value: Any = None, **top: Any) -> SimResult:
    """Run ``A`` (a Pass assigning ``v``), then ``B``=``state``, then ``Done``."""
    machine = {
        **top,
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Assign": {"v": 7}, "Next": "B"},
            "B": state,
            "Done": {"Type": "Pass", "End": True},
            "Other": {"Type": "Pass", "End": True},
        },
    }
    return simulate(machine, value)


def test_a_jsonata_succeed_outputs_its_expression() -> None:
    result = one(
        {"Type": "Succeed", "Output": "{% $states.input.n * 2 %}"}, {"n": 21}, jsonata=True
    )
    assert (result.status, result.output) == ("SUCCEEDED", 42)


def test_a_jsonata_fail_evaluates_its_error_and_cause() -> None:
    state = {"Type": "Fail", "Error": "{% 'E.' & $states.input.k %}", "Cause": "{% 'c' %}"}
    result = one(state, {"k": "x"}, jsonata=True)
    assert (result.status, result.error, result.cause) == ("FAILED", "E.x", "c")
    bare = one({"Type": "Fail"}, {}, jsonata=True)
    assert (bare.error, bare.cause) == (None, None)


def test_a_jsonpath_fail_reads_its_error_and_cause_paths() -> None:
    state = {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "States.Format('n={}', $.n)"}
    result = one(state, {"e": "Custom", "n": 3})
    assert (result.status, result.error, result.cause) == ("FAILED", "Custom", "n=3")


def test_a_choice_without_a_match_or_default_fails() -> None:
    state = {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "Done"}]}
    result = pass_then(state, {"n": 2})
    assert (result.status, result.error) == ("FAILED", "States.NoChoiceMatched")


def test_a_choice_on_a_missing_path_is_a_runtime_error() -> None:
    state = {
        "Type": "Choice",
        "Choices": [{"Variable": "$.gone", "StringEquals": "x", "Next": "Done"}],
        "Default": "Other",
    }
    result = pass_then(state, {"n": 2})
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert result.cause is not None and "Invalid path '$.gone'" in result.cause


def test_a_jsonata_condition_must_be_a_boolean() -> None:
    state = {"Type": "Choice", "Choices": [{"Condition": "{% 1 %}", "Next": "Done"}]}
    result = pass_then(state, {}, QueryLanguage="JSONata")
    assert (result.status, result.error) == ("FAILED", "States.QueryEvaluationError")


def test_a_jsonpath_choice_rule_assigns_from_the_state_input() -> None:
    rule = {
        "Variable": "$.n",
        "NumericEquals": 2,
        "Next": "Done",
        "Assign": {"got.$": "$.n", "old.$": "$v"},
    }
    result = pass_then({"Type": "Choice", "Choices": [rule], "Default": "Other"}, {"n": 2})
    assigned = [e for e in result.history if e["type"] == "ChoiceStateExited"]
    assert assigned[0]["stateExitedEventDetails"]["assignedVariables"] == {"got": "2", "old": "7"}


def test_a_jsonata_default_assigns_and_a_rule_without_assign_assigns_nothing() -> None:
    state = {
        "Type": "Choice",
        "Choices": [{"Condition": "{% false %}", "Next": "Done"}],
        "Default": "Other",
        "Assign": {"w": "{% $v + 1 %}"},
    }
    result = pass_then(state, {}, QueryLanguage="JSONata")
    exited = next(e for e in result.history if e["type"] == "ChoiceStateExited")
    assert exited["stateExitedEventDetails"]["assignedVariables"] == {"w": "8"}
    entered = [
        e["stateEnteredEventDetails"]["name"]
        for e in result.history
        if e["type"] == "PassStateEntered"
    ]
    assert entered == ["A", "Other"]


def test_an_undefined_variable_path_fails_the_parameters_field() -> None:
    result = one({"Type": "Pass", "Parameters": {"x.$": "$nope"}, "End": True}, {"a": 1})
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert result.cause is not None
    assert "'$nope' specified for the field 'x.$' could not be found in the input" in result.cause


def test_parameters_lists_variables_and_a_null_input_path() -> None:
    state = {
        "Type": "Pass",
        "InputPath": None,
        "Parameters": {"l": [{"v.$": "$v"}, 1]},
        "Next": "Done",
    }
    result = pass_then(state, {"a": 1})
    assert result.output == {"l": [{"v": 7}, 1]}


def test_a_missing_input_path_and_result_path_fail() -> None:
    miss = one({"Type": "Pass", "InputPath": "$.gone", "End": True}, {"a": 1})
    assert miss.error == "States.Runtime" and "Invalid path '$.gone'" in str(miss.cause)
    bad = one({"Type": "Pass", "Result": 1, "ResultPath": "$.a[5]", "End": True}, {"a": [0]})
    assert bad.error == "States.ResultPathMatchFailure"
    assert "Unable to apply ResultPath '$.a[5]'" in str(bad.cause)


def test_a_null_result_path_keeps_the_input() -> None:
    result = one({"Type": "Pass", "Result": 1, "ResultPath": None, "End": True}, {"a": 1})
    assert result.output == {"a": 1}


RNG = random.Random(0)


def test_jsonata_errors_name_the_expression_and_field() -> None:
    with pytest.raises(StatesError) as err:
        jsonata_mode.evaluate("{% $undefinedfn(1) %}", "Output", {}, RNG, allow_undefined=False)
    assert err.value.error == "States.QueryEvaluationError"
    assert "The JSONata expression '$undefinedfn(1)' specified for the field 'Output'" in str(
        err.value.cause
    )
    with pytest.raises(StatesError) as err:
        jsonata_mode.evaluate("{% $x %}", "Output", {}, RNG, allow_undefined=False)
    assert "returned nothing (undefined)" in str(err.value.cause)
    with pytest.raises(StatesError) as err:
        jsonata_mode.evaluate("{% $sum %}", "Output", {}, RNG, allow_undefined=False)
    assert "returned an unsupported result type" in str(err.value.cause)


def test_jsonata_undefined_may_be_allowed_and_nulls_and_integral_floats_are_json() -> None:
    assert jsonata_mode.evaluate("{% $x %}", "Assign", {}, RNG, allow_undefined=True) is None
    assert jsonata_mode.evaluate(
        "{% [$v, 1.5, 6/2] %}", "Output", {"v": None}, RNG, allow_undefined=False
    ) == [None, 1.5, 3]
    assert jsonata_mode.normalise_numbers({"a": [2.0, float("inf")]}) == {"a": [2, float("inf")]}


def test_a_python_error_inside_the_evaluator_is_an_evaluation_error() -> None:
    # The evaluator raises OverflowError (not a JException) for a float out of range.
    with pytest.raises(StatesError) as err:
        jsonata_mode.evaluate("{% $power(10, 400) %}", "Output", {}, RNG, allow_undefined=False)
    assert err.value.error == "States.QueryEvaluationError"
    assert "threw an error during evaluation. (34, 'Numerical result out of range')" in str(
        err.value.cause
    )


def test_a_binding_that_is_not_json_is_an_unsupported_result() -> None:
    with pytest.raises(StatesError) as err:
        jsonata_mode.evaluate("{% $x %}", "Output", {"x": object()}, RNG, allow_undefined=False)
    assert "returned an unsupported result type" in str(err.value.cause)
