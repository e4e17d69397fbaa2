"""Unit tests for ASL validation of Map and Parallel states."""

from __future__ import annotations

from typing import Any

import pytest

from stormproof.core.asl.validate import validate
from stormproof.errors import InvalidDefinition

PASS_END = {"Type": "Pass", "End": True}


def paths(definition: Any, **kwargs: Any) -> list[str]:
    with pytest.raises(InvalidDefinition) as info:
        validate(definition, **kwargs)
    return [path for path, _ in info.value.problems]


def single(state: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"StartAt": "S", "States": {"S": state}, **top}


# --- Map and Parallel -----------------------------------------------------------

PROCESSOR = {"StartAt": "I", "States": {"I": PASS_END}}
DISTRIBUTED = {**PROCESSOR, "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}}


def map_state(**fields: Any) -> dict[str, Any]:
    return single({"Type": "Map", "End": True, **fields})


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, ["$.States.S"]),
        ({"ItemProcessor": PROCESSOR, "Iterator": PROCESSOR}, ["$.States.S.Iterator"]),
        (
            {"ItemProcessor": PROCESSOR, "ItemSelector": {}, "Parameters": {}},
            ["$.States.S.Parameters"],
        ),
        ({"ItemProcessor": PROCESSOR, "ItemReader": {"Resource": "r"}}, ["$.States.S.ItemReader"]),
        ({"ItemProcessor": PROCESSOR, "ItemBatcher": {}}, ["$.States.S.ItemBatcher"]),
        ({"ItemProcessor": PROCESSOR, "ResultWriter": {}}, ["$.States.S.ResultWriter"]),
        ({"ItemProcessor": PROCESSOR, "Label": "L"}, ["$.States.S.Label"]),
        ({"ItemProcessor": DISTRIBUTED, "Label": "a b"}, ["$.States.S.Label"]),
        ({"ItemProcessor": DISTRIBUTED, "ItemReader": {}}, ["$.States.S.ItemReader"]),
        ({"ItemProcessor": PROCESSOR, "MaxConcurrency": -1}, ["$.States.S.MaxConcurrency"]),
        (
            {"ItemProcessor": PROCESSOR, "MaxConcurrency": 1, "MaxConcurrencyPath": "$.m"},
            ["$.States.S.MaxConcurrencyPath"],
        ),
        (
            {"ItemProcessor": DISTRIBUTED, "ToleratedFailurePercentage": 101},
            ["$.States.S.ToleratedFailurePercentage"],
        ),
        (
            {"ItemProcessor": DISTRIBUTED, "ToleratedFailureCount": -1},
            ["$.States.S.ToleratedFailureCount"],
        ),
        ({"ItemProcessor": PROCESSOR, "ItemsPath": "items"}, ["$.States.S.ItemsPath"]),
        (
            {"ItemProcessor": PROCESSOR, "ItemSelector": {"v.$": "$$.Map.Item.Value", "w.$": "x"}},
            ["$.States.S.ItemSelector['w.$']"],
        ),
        (
            {"ItemProcessor": {**PROCESSOR, "ProcessorConfig": {"Mode": "SERIAL"}}},
            ["$.States.S.ItemProcessor.ProcessorConfig.Mode"],
        ),
        (
            {"ItemProcessor": {**PROCESSOR, "ProcessorConfig": {"Mode": "DISTRIBUTED"}}},
            ["$.States.S.ItemProcessor.ProcessorConfig"],
        ),
        ({"ItemProcessor": {**PROCESSOR, "Extra": 1}}, ["$.States.S.ItemProcessor.Extra"]),
        (
            {"ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass"}}}},
            ["$.States.S.ItemProcessor.States.I", "$.States.S.ItemProcessor.States"],
        ),
    ],
)
def test_map_fields(fields: dict[str, Any], expected: list[str]) -> None:
    assert paths(map_state(**fields)) == expected


def test_valid_maps() -> None:
    validate(
        map_state(Iterator=PROCESSOR, Parameters={"v.$": "$$.Map.Item.Value"}, MaxConcurrency=0)
    )
    distributed = {
        "ItemProcessor": DISTRIBUTED,
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject",
            "Parameters": {"Bucket.$": "$.b"},
        },
        "ItemBatcher": {"MaxItemsPerBatch": 10},
        "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject"},
        "Label": "TestMap",
        "ToleratedFailurePercentagePath": "$.p",
    }
    validate(map_state(**distributed))
    jsonata = {"Items": "{% [1, 2] %}", "ItemSelector": "{% $states.context.Map.Item %}"}
    validate({**map_state(ItemProcessor=PROCESSOR, **jsonata), "QueryLanguage": "JSONata"})


def test_inline_map_accepts_tolerated_failures_as_aws_does() -> None:
    # Recorded: AWS created this machine (stepfunctions test_base_map[TOLERATED_FAILURE_COUNT]).
    validate(map_state(ItemProcessor=PROCESSOR, ToleratedFailureCount=1))


def test_jsonata_map_items() -> None:
    assert paths(
        {**map_state(ItemProcessor=PROCESSOR, Items="$.x"), "QueryLanguage": "JSONata"}
    ) == ["$.States.S.Items"]
    assert paths(map_state(ItemProcessor=PROCESSOR, Items=[1])) == ["$.States.S.Items"]


def test_parallel_branches() -> None:
    parallel = {"Type": "Parallel", "End": True}
    assert paths(single(parallel)) == ["$.States.S"]
    assert paths(single({**parallel, "Branches": []})) == ["$.States.S.Branches"]
    branches = [
        {"StartAt": "A", "States": {"A": PASS_END}},
        {"StartAt": "X", "States": {"X": {"Type": "Pass", "Next": "Y"}}, "Extra": 1},
        7,
    ]
    assert paths(single({**parallel, "Branches": branches})) == [
        "$.States.S.Branches[1].Extra",
        "$.States.S.Branches[1].States.X.Next",
        "$.States.S.Branches[1].States",
        "$.States.S.Branches[2]",
    ]


def test_next_cannot_leave_a_branch() -> None:
    branch = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Out"}}}
    definition = {
        "StartAt": "P",
        "States": {
            "P": {"Type": "Parallel", "Branches": [branch], "Next": "Out"},
            "Out": {"Type": "Succeed"},
        },
    }
    assert paths(definition) == [
        "$.States.P.Branches[0].States.A.Next",
        "$.States.P.Branches[0].States",
    ]
