"""The simulator and Task timeouts at their edges: missing tasks, stops, limits, timeout paths."""

from __future__ import annotations

from typing import Any

from stormproof.core.asl.simulate import simulate


def one_task(**task: Any) -> dict[str, Any]:
    return {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": "fn", "End": True, **task}},
    }


def test_a_task_without_a_function_fails_the_execution() -> None:
    result = simulate(one_task(), {})
    assert (result.status, result.error) == ("FAILED", "States.TaskFailed")
    assert "No task for fn" in (result.cause or "")


def test_a_task_raising_any_exception_fails_with_its_type() -> None:
    def boom(_: Any) -> Any:
        raise KeyError("k")

    assert simulate(one_task(), {}, tasks={"fn": boom}).error == "KeyError"


def test_stop_after_aborts_an_execution_waiting_past_it() -> None:
    machine = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}}
    result = simulate(machine, {}, stop_after=5)
    assert result.status == "ABORTED"


def test_a_map_child_unfinished_at_the_limit_leaves_the_execution_running() -> None:
    machine = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "W",
                    "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}},
                },
                "End": True,
            }
        },
    }
    assert simulate(machine, [1, 2], max_virtual_time=10).status == "RUNNING"


def test_timeout_seconds_path_and_jsonata_timeouts() -> None:
    echo = {"fn": lambda value: value}
    by_path = one_task(TimeoutSecondsPath="$.t")
    assert simulate(by_path, {"t": 5}, tasks=echo).status == "SUCCEEDED"
    jsonata = one_task(QueryLanguage="JSONata", TimeoutSeconds="{% $states.input.t %}")
    assert simulate(jsonata, {"t": 5}, tasks=echo).status == "SUCCEEDED"


def test_a_timeout_that_is_not_a_positive_integer_is_a_runtime_error() -> None:
    result = simulate(one_task(TimeoutSecondsPath="$.t"), {"t": -1}, tasks={"fn": lambda v: v})
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert "positive integer" in (result.cause or "")
