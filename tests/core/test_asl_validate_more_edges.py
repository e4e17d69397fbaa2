"""ASL validation edges not reached elsewhere: text nested too deep, malformed Choice
rules and catchers, field types, ProcessorConfig and Map labels."""

from __future__ import annotations

from typing import Any

import pytest

from stormproof.core.asl.validate import validate
from stormproof.errors import InvalidDefinition

DONE = {"Type": "Pass", "End": True}


def messages(definition: Any) -> list[str]:
    with pytest.raises(InvalidDefinition) as info:
        validate(definition)
    return [f"{path}: {text}" for path, text in info.value.problems]


def machine(state: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {**top, "StartAt": "S", "States": {"S": state, "Done": DONE}}


def distributed_map(**fields: Any) -> dict[str, Any]:
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "I",
        "States": {"I": DONE},
    }
    return {"Type": "Map", "ItemProcessor": processor, "End": True, **fields}


def test_definition_text_nested_too_deep_is_refused_not_parsed() -> None:
    text = '{"StartAt": "S", "States": {"S": {"Type": "Pass", "End": true, "Result": '
    text += "[" * 500 + "]" * 500 + "}}}"
    found = messages(text)
    assert len(found) == 1 and found[0].startswith("$: ")


def test_a_choice_rule_must_be_an_object_with_an_object_assign() -> None:
    rule = {"Variable": "$.a", "IsPresent": True, "Next": "Done", "Assign": [1]}
    found = messages(machine({"Type": "Choice", "Choices": [5, rule], "Default": "Done"}))
    assert any("a Choice rule must be an object" in m for m in found)
    assert any("Assign: Assign must be an object" in m for m in found)


def test_a_catcher_must_be_an_object_with_an_object_assign() -> None:
    catchers = [7, {"ErrorEquals": ["States.ALL"], "Next": "Done", "Assign": "x"}]
    task = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Next": "Done"}
    found = messages(machine({**task, "Catch": catchers}))
    assert any("a catcher must be an object" in m for m in found)
    assert any("Assign: Assign must be an object" in m for m in found)


def test_an_integral_float_is_an_integer_and_a_jsonata_number_is_accepted() -> None:
    validate(machine({"Type": "Pass", "Next": "Done"}, TimeoutSeconds=30.0))
    state = distributed_map(ToleratedFailurePercentage="{% 5 %}")
    validate({"QueryLanguage": "JSONata", "StartAt": "S", "States": {"S": state}})


def test_fail_fields_must_be_non_empty_strings_and_objects_objects() -> None:
    found = messages(machine({"Type": "Fail", "Error": "", "Cause": 3}))
    assert any("Error must not be empty" in m for m in found)
    assert any("Cause must be a string" in m for m in found)
    found = messages(machine(distributed_map(ItemBatcher=[1])))
    assert any("ItemBatcher must be an object" in m for m in found)


def test_processor_config_must_be_an_object_of_known_fields() -> None:
    inline = {
        "Type": "Map",
        "End": True,
        "ItemProcessor": {"ProcessorConfig": "INLINE", "StartAt": "I", "States": {"I": DONE}},
    }
    assert any("ProcessorConfig must be an object" in m for m in messages(machine(inline)))
    odd = distributed_map()
    odd["ItemProcessor"]["ProcessorConfig"]["Speed"] = "FAST"
    assert any(
        "field 'Speed' is not supported in ProcessorConfig" in m for m in messages(machine(odd))
    )


def test_a_map_label_must_not_be_empty() -> None:
    assert any("Label must not be empty" in m for m in messages(machine(distributed_map(Label=""))))
