"""Unit tests for ASL validation syntax: paths, templates, intrinsics, timestamps, labels."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stormproof.core.asl.validate import find_problems, validate
from stormproof.core.asl.validate_syntax import (
    intrinsic_problem,
    is_rfc3339,
    label_problem,
    path_problem,
)
from stormproof.errors import InvalidDefinition

PASS_END = {"Type": "Pass", "End": True}


def paths(definition: Any, **kwargs: Any) -> list[str]:
    with pytest.raises(InvalidDefinition) as info:
        validate(definition, **kwargs)
    return [path for path, _ in info.value.problems]


def single(state: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"StartAt": "S", "States": {"S": state}, **top}


# --- paths, templates and intrinsics ---------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "$",
        "$$.Execution.Input",
        "$.a.b[0]",
        "$['a b']",
        "$.users[?(@.status == 0)]",
        "$var.field",
        "States.Format('Hello {}, welcome to {}!', $.name, $.place)",
        "States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), 0)",
        "States.JsonMerge(States.StringToJson('{\"a\": 1}'), $.b, false)",
        "States.Format('it\\'s \\{literal\\} \\\\ ok')",
        "States.MathAdd($.Iterations, -1)",
        "States.UUID()",
    ],
)
def test_dollar_fields_accept_paths_and_intrinsics(value: str) -> None:
    validate(
        single({"Type": "Pass", "Parameters": {"v.$": value, "n": [{"w.$": value}]}, "End": True})
    )


@pytest.mark.parametrize(
    "value",
    [
        "a.b",
        "$a b",
        "$.a[0",
        "$.a.",
        "States.Nope($.a)",
        "States.Format('x'",
        "States.Format('x') trailing",
        "States.Format('unterminated)",
        "States.Format('bad \\\" escape')",
        "States.Format(oops)",
        "States.Format('a' 'b')",
        "States.Array(" * 11 + ")" * 11,
    ],
)
def test_dollar_fields_reject_invalid_syntax(value: str) -> None:
    definition = single({"Type": "Pass", "Parameters": {"n": [{"v.$": value}]}, "End": True})
    assert paths(definition) == ["$.States.S.Parameters.n[0]['v.$']"]


def test_dollar_values_in_result_and_jsonata_are_literal() -> None:
    validate(single({"Type": "Pass", "Result": {"x.$": "not a path"}, "End": True}))
    jsonata = {"Type": "Pass", "Output": {"x.$": "not a path"}, "End": True}
    validate(single(jsonata, QueryLanguage="JSONata"))


@pytest.mark.parametrize(
    ("field", "value", "ok"),
    [
        ("InputPath", None, True),
        ("OutputPath", None, True),
        ("ResultPath", None, True),
        ("ResultPath", "$.a.b", True),
        ("ResultPath", "$$.a", False),
        ("ResultPath", "$.a[*]", False),
        ("ResultPath", "$var", False),
        ("InputPath", "a", False),
        ("OutputPath", 3, False),
    ],
)
def test_io_paths(field: str, value: Any, ok: bool) -> None:
    definition = single({"Type": "Pass", field: value, "End": True})
    assert (find_problems(definition) == []) is ok


def test_syntax_helpers_directly() -> None:
    assert path_problem("$.a") is None
    assert path_problem("$.a", reference=True) is None
    assert intrinsic_problem("States.Hash($.a, 'SHA-256')") is None
    assert label_problem("ok-label_1") is None
    assert label_problem("x" * 41) is not None
    assert label_problem(3) is not None
    assert not is_rfc3339("2024-02-30T00:00:00Z")
    assert not is_rfc3339("2024-01-01T00:00:00+24:00")
    assert is_rfc3339("2024-01-01T00:00:00+05:30")


@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)))
def test_rfc3339_accepts_every_utc_timestamp(moment: datetime) -> None:
    text = moment.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")
    assert is_rfc3339(text)
    validate(single({"Type": "Wait", "Timestamp": text, "End": True}))


@given(st.characters(codec="utf-8"))
def test_labels_refuse_controls_whitespace_and_punctuation(char: str) -> None:
    refused = char.isspace() or ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F
    refused = refused or char in ' ?*<>{}[]:;,\\|^~$#%&`"/'
    assert (label_problem(f"label_{char}") is not None) is refused
