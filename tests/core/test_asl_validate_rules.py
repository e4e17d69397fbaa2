"""Unit tests for ASL validation rules: Wait, Task, Fail, Retry/Catch and Choice."""

from __future__ import annotations

from typing import Any

import pytest

from stormproof.core.asl.validate import validate
from stormproof.errors import InvalidDefinition

PASS_END = {"Type": "Pass", "End": True}
LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:f"


def paths(definition: Any, **kwargs: Any) -> list[str]:
    with pytest.raises(InvalidDefinition) as info:
        validate(definition, **kwargs)
    return [path for path, _ in info.value.problems]


def single(state: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"StartAt": "S", "States": {"S": state}, **top}


def task(**fields: Any) -> dict[str, Any]:
    return single({"Type": "Task", "Resource": LAMBDA, "End": True, **fields})


def with_targets(state: dict[str, Any]) -> dict[str, Any]:
    """A machine whose start state S may transition to the Succeed state Done."""
    return {"StartAt": "S", "States": {"S": state, "Done": {"Type": "Succeed"}}}


# --- Wait -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, ["$.States.S"]),
        ({"Seconds": 1, "Timestamp": "2024-01-01T00:00:00Z"}, ["$.States.S.Timestamp"]),
        ({"SecondsPath": "$.s", "TimestampPath": "$.t"}, ["$.States.S.TimestampPath"]),
        ({"Seconds": -1}, ["$.States.S.Seconds"]),
        ({"Seconds": 1.5}, ["$.States.S.Seconds"]),
        ({"Seconds": True}, ["$.States.S.Seconds"]),
        ({"Timestamp": "2016-12-05 21:29:29Z"}, ["$.States.S.Timestamp"]),
        ({"Timestamp": "2016-12-05T21:29:29"}, ["$.States.S.Timestamp"]),
        ({"Timestamp": "{% $now() %}"}, ["$.States.S.Timestamp"]),
        ({"SecondsPath": "s"}, ["$.States.S.SecondsPath"]),
    ],
)
def test_wait_fields(fields: dict[str, Any], expected: list[str]) -> None:
    assert paths(single({"Type": "Wait", "End": True, **fields})) == expected


def test_wait_accepts_paths_variables_and_jsonata() -> None:
    validate(single({"Type": "Wait", "SecondsPath": "$waitTime", "End": True}))
    validate(single({"Type": "Wait", "Timestamp": "2016-03-05T21:29:29.243167252Z", "End": True}))
    jsonata = {"Type": "Wait", "Timestamp": "{% $states.input.t %}", "End": True}
    validate(single(jsonata, QueryLanguage="JSONata"))
    validate(single({"Type": "Wait", "Seconds": "{% 3 %}", "End": True}, QueryLanguage="JSONata"))


# --- Task ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"TimeoutSeconds": 5, "TimeoutSecondsPath": "$.t"}, ["$.States.S.TimeoutSecondsPath"]),
        (
            {"HeartbeatSeconds": 5, "HeartbeatSecondsPath": "$.h"},
            ["$.States.S.HeartbeatSecondsPath"],
        ),
        ({"TimeoutSeconds": 0}, ["$.States.S.TimeoutSeconds"]),
        ({"TimeoutSeconds": 100_000_000}, ["$.States.S.TimeoutSeconds"]),
        ({"TimeoutSeconds": 5, "HeartbeatSeconds": 5}, ["$.States.S.HeartbeatSeconds"]),
        ({"Resource": "arn:aws:states:::dynamodb:query"}, ["$.States.S.Resource"]),
        ({"Resource": "arn:aws:states:::teleport:beam"}, ["$.States.S.Resource"]),
        ({"Resource": 3}, ["$.States.S.Resource"]),
        ({"Credentials": {}}, ["$.States.S.Credentials"]),
        ({"Credentials": {"RoleArn": "r", "X": 1}}, ["$.States.S.Credentials.X"]),
        ({"Credentials": {"RoleArn.$": "nope"}}, ["$.States.S.Credentials['RoleArn.$']"]),
    ],
)
def test_task_fields(fields: dict[str, Any], expected: list[str]) -> None:
    assert paths(task(**fields)) == expected


def test_task_requires_a_resource() -> None:
    assert paths(single({"Type": "Task", "End": True})) == ["$.States.S"]


@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws:states:::aws-sdk:dynamodb:query",
        "arn:aws:states:::dynamodb:getItem",
        "arn:aws:states:::states:startExecution.sync:2",
        "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "arn:aws:states:us-east-1:111111111111:activity:a",
        "arn:aws:states:::sagemaker:createTrainingJob.sync",
        LAMBDA,
        "my-local-function",
    ],
)
def test_task_resources_accepted_in_standard_machines(resource: str) -> None:
    validate(task(Resource=resource))


@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws:states:::states:startExecution.sync",
        "arn:aws:states:::states:startExecution.sync:2",
        "arn:aws:states:::sns:publish.waitForTaskToken",
        "arn:aws:states:us-east-1:111111111111:activity:a",
    ],
)
def test_express_machines_refuse_callbacks_sync_and_activities(resource: str) -> None:
    assert paths(task(Resource=resource), machine_type="EXPRESS") == ["$.States.S.Resource"]


def test_express_machines_accept_request_response() -> None:
    validate(task(Resource="arn:aws:states:::lambda:invoke"), machine_type="EXPRESS")


def test_jsonata_task_timeouts_may_be_expressions() -> None:
    state = {"Type": "Task", "Resource": LAMBDA, "TimeoutSeconds": "{% 5 %}", "End": True}
    validate(single(state, QueryLanguage="JSONata"))
    credentials = {"Type": "Task", "Resource": LAMBDA, "Credentials": {"RoleArn.$": "$.r"}}
    assert paths(single({**credentials, "End": True}, QueryLanguage="JSONata")) == [
        "$.States.S.Credentials",
        "$.States.S.Credentials['RoleArn.$']",
    ]


# --- Fail -----------------------------------------------------------------------


def test_fail_fields() -> None:
    validate(single({"Type": "Fail", "ErrorPath": "$.e", "CausePath": "States.Format('{}', $.c)"}))
    assert paths(single({"Type": "Fail", "Error": "E", "ErrorPath": "$.e"})) == [
        "$.States.S.ErrorPath"
    ]
    assert paths(single({"Type": "Fail", "Cause": 1})) == ["$.States.S.Cause"]
    assert paths(single({"Type": "Fail", "CausePath": "cause"})) == ["$.States.S.CausePath"]


# --- Retry and Catch ------------------------------------------------------------


@pytest.mark.parametrize(
    ("retrier", "field"),
    [
        ({"MaxAttempts": -1}, "MaxAttempts"),
        ({"MaxAttempts": 100_000_000}, "MaxAttempts"),
        ({"BackoffRate": 0.5}, "BackoffRate"),
        ({"IntervalSeconds": 0}, "IntervalSeconds"),
        ({"IntervalSeconds": 1.5}, "IntervalSeconds"),
        ({"MaxDelaySeconds": 0}, "MaxDelaySeconds"),
        ({"JitterStrategy": "SOME"}, "JitterStrategy"),
        ({"Comment": 1}, "Comment"),
        ({"Backoff": 2}, "Backoff"),
    ],
)
def test_retrier_fields(retrier: dict[str, Any], field: str) -> None:
    retry = [{"ErrorEquals": ["States.TaskFailed"], **retrier}]
    assert paths(task(Retry=retry)) == [f"$.States.S.Retry[0].{field}"]


def test_retrier_boundaries_are_accepted() -> None:
    retrier = {"ErrorEquals": ["E"], "MaxAttempts": 0, "BackoffRate": 1, "IntervalSeconds": 1}
    validate(task(Retry=[{**retrier, "MaxDelaySeconds": 31_622_400, "JitterStrategy": "FULL"}]))


@pytest.mark.parametrize(
    ("errors", "path"),
    [
        ([["States.ALL"], ["E"]], "$.States.S.Retry[0].ErrorEquals"),
        ([["States.ALL", "E"]], "$.States.S.Retry[0].ErrorEquals"),
        ([[]], "$.States.S.Retry[0].ErrorEquals"),
        ([["States.Nope"]], "$.States.S.Retry[0].ErrorEquals[0]"),
        ([[""]], "$.States.S.Retry[0].ErrorEquals[0]"),
    ],
)
def test_error_equals(errors: list[list[str]], path: str) -> None:
    assert paths(task(Retry=[{"ErrorEquals": names} for names in errors])) == [path]


def test_retry_must_be_an_array_of_objects() -> None:
    assert paths(task(Retry={})) == ["$.States.S.Retry"]
    assert paths(task(Retry=[1])) == ["$.States.S.Retry[0]"]
    assert paths(task(Retry=[{}])) == ["$.States.S.Retry[0]"]


def test_catchers() -> None:
    state = {"Type": "Task", "Resource": LAMBDA, "End": True}
    catch_all_first = [
        {"ErrorEquals": ["States.ALL"], "Next": "Done"},
        {"ErrorEquals": ["E"], "Next": "Done"},
    ]
    assert paths(with_targets({**state, "Catch": catch_all_first})) == [
        "$.States.S.Catch[0].ErrorEquals"
    ]
    nowhere = [{"ErrorEquals": ["E"], "Next": "Nowhere"}, {"ErrorEquals": ["E"], "Next": "Done"}]
    assert paths(with_targets({**state, "Catch": nowhere})) == ["$.States.S.Catch[0].Next"]
    assert paths(with_targets({**state, "Catch": [{"ErrorEquals": ["E"]}]})) == [
        "$.States.S.Catch[0].Next",
        "$.States.Done",
    ]
    bad_result = [{"ErrorEquals": ["E"], "Next": "Done", "ResultPath": "$$.x", "Output": {}}]
    assert paths(with_targets({**state, "Catch": bad_result})) == [
        "$.States.S.Catch[0].Output",
        "$.States.S.Catch[0].ResultPath",
    ]


# --- Choice ---------------------------------------------------------------------


def choice(*rules: Any, **fields: Any) -> dict[str, Any]:
    return with_targets({"Type": "Choice", "Choices": list(rules), **fields})


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"Variable": "$.x", "Next": "Done"}, ["$.States.S.Choices[0]"]),
        (
            {"Variable": "$.x", "StringEquals": "a", "IsNull": True, "Next": "Done"},
            ["$.States.S.Choices[0]"],
        ),
        ({"StringEquals": "a", "Next": "Done"}, ["$.States.S.Choices[0]"]),
        (
            {"Variable": "x", "StringEquals": "a", "Next": "Done"},
            ["$.States.S.Choices[0].Variable"],
        ),
        (
            {"Variable": "$.x", "NumericEquals": "1", "Next": "Done"},
            ["$.States.S.Choices[0].NumericEquals"],
        ),
        (
            {"Variable": "$.x", "BooleanEquals": 1, "Next": "Done"},
            ["$.States.S.Choices[0].BooleanEquals"],
        ),
        (
            {"Variable": "$.x", "TimestampEquals": "today", "Next": "Done"},
            ["$.States.S.Choices[0].TimestampEquals"],
        ),
        (
            {"Variable": "$.x", "StringEqualsPath": "y", "Next": "Done"},
            ["$.States.S.Choices[0].StringEqualsPath"],
        ),
        ({"Variable": "$.x", "StringEquals": "a"}, ["$.States.S.Choices[0].Next", "$.States.Done"]),
        ({"And": [], "Next": "Done"}, ["$.States.S.Choices[0].And"]),
        ({"Or": {}, "Next": "Done"}, ["$.States.S.Choices[0].Or"]),
        (
            {"And": [{"Variable": "$.x", "IsNull": True}], "Not": {}, "Next": "Done"},
            ["$.States.S.Choices[0]", "$.States.S.Choices[0].Not", "$.States.S.Choices[0].Not"],
        ),
        (
            {"Not": {"Variable": "$.x", "IsNull": True, "Next": "Done"}, "Next": "Done"},
            ["$.States.S.Choices[0].Not.Next"],
        ),
        (
            {"Variable": "$.x", "IsNull": True, "Output": {}, "Next": "Done"},
            ["$.States.S.Choices[0].Output"],
        ),
        (
            {"Condition": "{% true %}", "Next": "Done"},
            [
                "$.States.S.Choices[0].Condition",
                "$.States.S.Choices[0]",
                "$.States.S.Choices[0]",
            ],
        ),
    ],
)
def test_jsonpath_choice_rules(rule: dict[str, Any], expected: list[str]) -> None:
    assert paths(choice(rule)) == expected


def test_valid_choice_rules() -> None:
    nested = {
        "And": [
            {"Variable": "$.a", "StringMatches": "log-*.txt"},
            {"Not": {"Variable": "$$.Execution.Name", "IsPresent": False}},
            {"Or": [{"Variable": "$v", "NumericGreaterThanPath": "$.b"}]},
        ],
        "Next": "Done",
        "Assign": {"x.$": "$.a"},
    }
    validate(choice(nested, Default="Done"))


def test_choice_state_shape() -> None:
    assert paths(with_targets({"Type": "Choice"})) == ["$.States.S", "$.States.Done"]
    assert paths(choice()) == ["$.States.S.Choices", "$.States.Done"]
    rule = {"Variable": "$.x", "IsNull": True, "Next": "Done"}
    assert paths(choice(rule, Default="Nowhere")) == ["$.States.S.Default"]
    assert paths(choice(rule, Default=3)) == ["$.States.S.Default"]


def test_jsonata_choice_rules() -> None:
    good = {"Condition": "{% $states.input.x = 1 %}", "Next": "Done", "Output": {}}
    validate({**choice(good), "QueryLanguage": "JSONata"})
    assert paths({**choice({"Next": "Done"}), "QueryLanguage": "JSONata"}) == [
        "$.States.S.Choices[0]"
    ]
    jsonpath_rule = {"Variable": "$.x", "IsNull": True, "Condition": "x", "Next": "Done"}
    assert paths({**choice(jsonpath_rule), "QueryLanguage": "JSONata"}) == [
        "$.States.S.Choices[0].Variable",
        "$.States.S.Choices[0].IsNull",
        "$.States.S.Choices[0].Condition",
    ]
