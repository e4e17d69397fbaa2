"""JSONata mode: $states, variables, Output/Assign, AWS's added functions, errors."""

from __future__ import annotations

from typing import Any

from stormproof.core.asl.simulate import simulate


def jsonata(states: dict[str, Any], start: str = "A") -> dict[str, Any]:
    return {"QueryLanguage": "JSONata", "StartAt": start, "States": states}


def test_output_and_assign_see_the_old_variables() -> None:
    machine = jsonata(
        {
            "A": {"Type": "Pass", "Assign": {"x": 1}, "Next": "B"},
            "B": {
                "Type": "Pass",
                "Assign": {"x": "{% $x + 1 %}"},
                "Output": {"before": "{% $x %}", "in": "{% $states.input.v %}"},
                "Next": "C",
            },
            "C": {"Type": "Pass", "Output": "{% $x %}", "End": True},
        }
    )
    result = simulate(machine, {"v": "i"})
    exits = [e["stateExitedEventDetails"] for e in result.history if "stateExitedEventDetails" in e]
    assert exits[1]["output"] == '{"before":1,"in":"i"}'
    assert exits[1]["assignedVariables"] == {"x": "2"}
    assert result.output == 2


def test_aws_functions_and_integral_numbers() -> None:
    machine = jsonata(
        {
            "A": {
                "Type": "Pass",
                "Output": {
                    "p": "{% $partition([1,2,3], 2) %}",
                    "r": "{% $range(0, 4, 2) %}",
                    "h": "{% $hash('input data', 'MD5') %}",
                    "j": "{% $parse('{\"a\": 1}') %}",
                    "sum": "{% 1.5 + 1.5 %}",
                    "u": "{% $length($uuid()) %}",
                },
                "End": True,
            }
        }
    )
    assert simulate(machine).output == {
        "p": [[1, 2], [3]],
        "r": [0, 2, 4],
        "h": "812f45842bc6d66ee14572ce20db8e86",
        "j": {"a": 1},
        "sum": 3,
        "u": 36,
    }


def test_undefined_result_is_a_query_evaluation_error() -> None:
    machine = jsonata({"A": {"Type": "Pass", "Output": {"r": "{% $nothing %}"}, "End": True}})
    result = simulate(machine)
    assert result.error == "States.QueryEvaluationError"
    assert result.cause is not None and "'Output/r' returned nothing (undefined)" in result.cause
    assert [e["type"] for e in result.history][-2] == "EvaluationFailed"


def test_choice_condition_and_catcher_error_output() -> None:
    machine = jsonata(
        {
            "A": {
                "Type": "Choice",
                "Choices": [{"Condition": "{% $states.input.n > 1 %}", "Next": "Big"}],
                "Default": "Small",
            },
            "Big": {
                "Type": "Task",
                "Resource": "fn",
                "Arguments": {"n": "{% $states.input.n %}"},
                "Catch": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "Next": "Small",
                        "Output": "{% $states.errorOutput.Error %}",
                    }
                ],
                "Output": "{% $states.result.doubled %}",
                "End": True,
            },
            "Small": {"Type": "Succeed"},
        }
    )

    def fn(value: Any) -> Any:
        if value["n"] > 5:
            raise ValueError("too big")
        return {"doubled": value["n"] * 2}

    assert simulate(machine, {"n": 3}, tasks={"fn": fn}).output == 6
    assert simulate(machine, {"n": 9}, tasks={"fn": fn}).output == "ValueError"
    assert simulate(machine, {"n": 0}, tasks={"fn": fn}).output == {"n": 0}
