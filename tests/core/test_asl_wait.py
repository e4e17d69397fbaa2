"""Wait states: every way to name the wake-up time, and every way to get it wrong."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stormproof.core.asl.json_text import dumps, type_name
from stormproof.core.asl.simulate import simulate

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def waiting(wait: dict[str, Any], language: str = "JSONPath") -> dict[str, Any]:
    return {
        "QueryLanguage": language,
        "StartAt": "W",
        "States": {"W": {"Type": "Wait", "End": True, **wait}},
    }


def run(wait: dict[str, Any], value: Any = None, language: str = "JSONPath") -> Any:
    return simulate(waiting(wait, language), value, start_time=T0)


@given(st.integers(0, 10**6))
def test_seconds_from_a_path_wake_exactly_then(seconds: int) -> None:
    result = run({"SecondsPath": "$.s"}, {"s": seconds})
    assert result.status == "SUCCEEDED"
    assert result.end_time == T0 + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("wait", "value"),
    [
        ({"Seconds": 5}, {}),
        ({"Timestamp": "2026-01-01T00:00:05Z"}, {}),
        ({"TimestampPath": "$.at"}, {"at": "2026-01-01T00:00:05Z"}),
        ({"Seconds": 5, "InputPath": "$.keep", "OutputPath": "$"}, {"keep": {}}),
    ],
)
def test_jsonpath_waits_end_five_seconds_later(wait: dict[str, Any], value: Any) -> None:
    result = run(wait, value)
    assert (result.status, result.end_time) == ("SUCCEEDED", T0 + timedelta(seconds=5))


@pytest.mark.parametrize(
    ("wait", "value", "cause"),
    [
        ({"SecondsPath": "$.s"}, {"s": "ten"}, "cannot be parsed as a long value"),
        ({"SecondsPath": "$.s"}, {"s": True}, "cannot be parsed as a long value"),
        ({"SecondsPath": "$.s"}, {"s": -1}, "references a negative value"),
        ({"SecondsPath": "$.missing"}, {}, "does not reference an input value"),
        ({"TimestampPath": "$.at"}, {"at": "soon"}, "valid ISO-8601"),
        ({"Timestamp": "soon"}, {}, "cannot be parsed as an ISO-8601"),
        ({"Seconds": 2**31}, {}, "delay is too long"),
    ],
)
def test_bad_wait_times_fail_with_a_runtime_error(
    wait: dict[str, Any], value: Any, cause: str
) -> None:
    result = run(wait, value)
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert cause in (result.cause or "")


@pytest.mark.parametrize(
    "wait",
    [{"Seconds": "{% $states.input.s %}"}, {"Timestamp": "{% $states.input.at %}"}],
)
def test_jsonata_waits(wait: dict[str, Any]) -> None:
    result = run(wait, {"s": 5, "at": "2026-01-01T00:00:05Z"}, "JSONata")
    assert (result.status, result.end_time) == ("SUCCEEDED", T0 + timedelta(seconds=5))


@pytest.mark.parametrize(
    ("wait", "value"),
    [
        ({"Seconds": "{% $states.input.s %}"}, {"s": -1}),
        ({"Seconds": "{% $states.input.s %}"}, {"s": 1.5}),
        ({"Timestamp": "{% $states.input.at %}"}, {"at": "soon"}),
    ],
)
def test_bad_jsonata_waits_fail_evaluation(wait: dict[str, Any], value: Any) -> None:
    result = run(wait, value, "JSONata")
    assert (result.status, result.error) == ("FAILED", "States.QueryEvaluationError")


@pytest.mark.parametrize(
    ("value", "name"),
    [
        (None, "null"),
        (True, "boolean"),
        (1, "number"),
        (1.5, "number"),
        ("s", "string"),
        ([], "array"),
        ({}, "object"),
    ],
)
def test_json_type_names_are_aws_names(value: Any, name: str) -> None:
    assert type_name(value) == name
    assert dumps({"ä": value}) == '{"ä":' + ("null" if value is None else dumps(value)) + "}"
