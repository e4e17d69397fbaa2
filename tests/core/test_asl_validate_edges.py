"""ASL validation edges: duplicate keys inside lists, depth, names and transitions."""

from __future__ import annotations

from typing import Any

import pytest

from stormproof.core.asl.validate import validate
from stormproof.errors import InvalidDefinition

PASS_END = {"Type": "Pass", "End": True}


def problems(definition: Any) -> list[tuple[str, str]]:
    with pytest.raises(InvalidDefinition) as info:
        validate(definition)
    return info.value.problems


def messages(definition: Any) -> str:
    return " | ".join(f"{path}: {text}" for path, text in problems(definition))


def test_duplicate_keys_inside_a_list_are_reported_with_their_index() -> None:
    text = (
        '{"StartAt": "S", "States": {"S": {"Type": "Pass", "End": true,'
        ' "Result": [{"a": 1, "a": 2}]}}}'
    )
    assert "duplicate key 'a'" in messages(text)


def test_a_mapping_too_deep_is_refused() -> None:
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(200):
        node["x"] = {}
        node = node["x"]
    definition = {"StartAt": "S", "States": {"S": {**PASS_END, "Result": deep}}}
    assert problems(definition)


def test_start_at_must_be_a_state_name() -> None:
    assert "StartAt must be a state name" in messages({"StartAt": "", "States": {"S": PASS_END}})


def test_state_names_must_not_be_empty() -> None:
    assert "state names must not be empty" in messages({"StartAt": "", "States": {"": PASS_END}})


def test_a_state_must_be_an_object() -> None:
    assert "a state must be an object" in messages({"StartAt": "S", "States": {"S": 3}})


def test_a_non_terminal_state_needs_next_or_end() -> None:
    text = messages({"StartAt": "S", "States": {"S": {"Type": "Pass"}}})
    assert "a non-terminal state must have Next or End: true" in text


def test_next_must_be_a_state_name() -> None:
    text = messages({"StartAt": "S", "States": {"S": {"Type": "Pass", "Next": 5}}})
    assert "Next must be a state name" in text
