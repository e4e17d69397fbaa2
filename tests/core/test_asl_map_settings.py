"""The settings a Map state reads when it starts: items and numbers, from literals, paths
or JSONata, with AWS's failures for values of the wrong kind."""

from __future__ import annotations

from typing import Any

import pytest

from stormproof.core.asl.simulate import simulate

PROCESSOR = {
    "ProcessorConfig": {"Mode": "INLINE"},
    "StartAt": "P",
    "States": {"P": {"Type": "Pass", "End": True}},
}


def mapping(fields: dict[str, Any], language: str = "JSONPath") -> dict[str, Any]:
    state = {"Type": "Map", "End": True, "ItemProcessor": PROCESSOR, **fields}
    return {"QueryLanguage": language, "StartAt": "M", "States": {"M": state}}


def run(fields: dict[str, Any], value: Any, language: str = "JSONPath") -> Any:
    return simulate(mapping(fields, language), value)


@pytest.mark.parametrize(
    ("fields", "value"),
    [
        ({"ItemsPath": "$.xs", "MaxConcurrencyPath": "$.n"}, {"xs": [1, 2], "n": "2"}),
        ({"ItemsPath": "$.xs", "ToleratedFailureCountPath": "$.n"}, {"xs": [1, 2], "n": 2.0}),
        ({"ItemsPath": "$.xs", "ToleratedFailurePercentagePath": "$.p"}, {"xs": [1], "p": "5.5"}),
        ({"ToleratedFailurePercentage": 10}, [1, 2]),
    ],
)
def test_settings_from_paths_and_literals(fields: dict[str, Any], value: Any) -> None:
    result = run(fields, value)
    assert result.status == "SUCCEEDED", result.cause


@pytest.mark.parametrize(
    ("fields", "value", "cause"),
    [
        ({"ItemsPath": "$.xs"}, {"xs": 3}, "must be an array"),
        ({"ItemsPath": "$.missing"}, {}, "Invalid path"),
        ({"MaxConcurrencyPath": "$.n"}, {"n": "two"}, "not a valid integer"),
        ({"MaxConcurrencyPath": "$.n"}, {"n": 1.5}, "not a valid integer"),
        ({"ToleratedFailureCountPath": "$.n"}, {"n": True}, "not a valid integer"),
        ({"ToleratedFailurePercentagePath": "$.p"}, {"p": "lots"}, "not a valid float"),
        ({"ToleratedFailurePercentagePath": "$.p"}, {"p": [1]}, "not a valid float"),
        ({"ToleratedFailurePercentagePath": "$.p"}, {"p": 101}, "between 0 and 100"),
    ],
)
def test_bad_jsonpath_settings_fail_at_runtime(
    fields: dict[str, Any], value: Any, cause: str
) -> None:
    if "ItemsPath" not in fields:
        fields, value = {"ItemsPath": "$.xs", **fields}, {"xs": [1], **value}
    result = run(fields, value)
    assert (result.status, result.error) == ("FAILED", "States.Runtime"), result.cause
    assert cause in (result.cause or "")


def test_jsonpath_map_without_items_path_needs_an_array_input() -> None:
    result = run({}, {"not": "a list"})
    assert (result.status, result.error) == ("FAILED", "States.Runtime")


@pytest.mark.parametrize(
    ("fields", "value", "status"),
    [
        ({}, [1, 2], "SUCCEEDED"),
        ({}, {"not": "a list"}, "FAILED"),
        ({"Items": "{% $states.input.xs %}"}, {"xs": [1]}, "SUCCEEDED"),
        ({"Items": "{% $states.input.xs %}"}, {"xs": 7}, "FAILED"),
        ({"Items": [1, 2], "MaxConcurrency": "{% 1 + 1 %}"}, {}, "SUCCEEDED"),
    ],
)
def test_jsonata_items(fields: dict[str, Any], value: Any, status: str) -> None:
    result = run(fields, value, "JSONata")
    assert result.status == status, result.cause
    if status == "FAILED":
        assert result.error == "States.QueryEvaluationError"
