"""The resumable interpreter: tasks, Retry/Catch, timers, persistence and abort."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from stormproof.core.asl.interpreter import StartContext, abort, advance, start
from stormproof.core.asl.simulate import TaskFailure, simulate

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def task_machine(**task: Any) -> dict[str, Any]:
    return {
        "StartAt": "Work",
        "States": {
            "Work": {"Type": "Task", "Resource": "fn", "Next": "Done", **task},
            "Done": {"Type": "Pass", "End": True},
            "Recovered": {"Type": "Pass", "End": True},
        },
    }


def flaky(failures: int, error: str = "Boom") -> Any:
    calls = {"n": 0}

    def function(value: Any) -> Any:
        calls["n"] += 1
        if calls["n"] <= failures:
            raise TaskFailure(error, f"attempt {calls['n']}")
        return {"got": value, "calls": calls["n"]}

    return function


def types(history: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in history]


def test_task_result_goes_through_selector_and_result_path() -> None:
    machine = task_machine(
        Parameters={"x.$": "$.x"}, ResultSelector={"r.$": "$.got"}, ResultPath="$.out"
    )
    result = simulate(machine, {"x": 1}, tasks={"fn": flaky(0)})
    assert result.status == "SUCCEEDED"
    assert result.output == {"x": 1, "out": {"r": {"x": 1}}}
    assert types(result.history)[:6] == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
    ]


def test_retry_waits_the_backoff_in_virtual_time() -> None:
    machine = task_machine(
        Retry=[{"ErrorEquals": ["Boom"], "IntervalSeconds": 2, "MaxAttempts": 3}]
    )
    result = simulate(machine, {}, tasks={"fn": flaky(2)})
    assert result.status == "SUCCEEDED"
    assert result.output["calls"] == 3
    assert result.end_time == datetime(2026, 1, 1, 0, 0, 6, tzinfo=UTC)  # 2 s + 4 s
    assert types(result.history).count("TaskFailed") == 2


def test_exhausted_retries_go_to_the_catcher_with_error_output() -> None:
    machine = task_machine(
        Retry=[{"ErrorEquals": ["Boom"], "MaxAttempts": 1}],
        Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Recovered", "ResultPath": "$.err"}],
    )
    result = simulate(machine, {"keep": True}, tasks={"fn": flaky(5)})
    assert result.status == "SUCCEEDED"
    assert result.output == {"keep": True, "err": {"Error": "Boom", "Cause": "attempt 2"}}


def test_uncaught_task_error_fails_the_execution() -> None:
    result = simulate(task_machine(), {}, tasks={"fn": flaky(1, "Custom")})
    assert (result.status, result.error, result.cause) == ("FAILED", "Custom", "attempt 1")


def test_task_timeout_is_states_timeout() -> None:
    machine = task_machine(TimeoutSeconds=5)
    state = start(machine, {}, StartContext(start_time=T0))
    step = advance(state, T0, random.Random(0))
    assert step.tasks and step.tasks[0]["timeout_seconds"] == 5
    late = advance(step.state, T0 + timedelta(seconds=6), random.Random(0))
    assert (late.status, late.state["error"]) == ("FAILED", "States.Timeout")
    assert "TaskTimedOut" in types(late.events)


def test_state_survives_json_round_trips_between_steps() -> None:
    machine = {
        "StartAt": "Wait",
        "States": {
            "Wait": {"Type": "Wait", "Seconds": 10, "Next": "Map"},
            "Map": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "StartAt": "Call",
                    "States": {"Call": {"Type": "Task", "Resource": "double", "End": True}},
                },
                "End": True,
            },
        },
    }
    state = start(machine, {"items": [1, 2, 3]}, StartContext(start_time=T0))
    now, history = T0, []
    completed: dict[str, Any] = {}
    for _ in range(20):
        state = json.loads(json.dumps(state))  # as if stored and loaded by another process
        step = advance(state, now, random.Random(0), completed)
        history.extend(step.events)
        state = step.state
        if step.finished:
            break
        for task in step.tasks:
            completed[task["id"]] = {"output": task["input"] * 2}
        if not step.tasks and step.wake_at is not None:
            now = step.wake_at
    assert step.status == "SUCCEEDED"
    assert step.state["output"] == [2, 4, 6]
    assert [e["id"] for e in history] == list(range(1, len(history) + 1))


def test_advance_does_not_mutate_its_argument() -> None:
    state = start(task_machine(), {}, StartContext(start_time=T0))
    frozen = json.dumps(state, sort_keys=True)
    advance(state, T0, random.Random(0))
    assert json.dumps(state, sort_keys=True) == frozen


def test_execution_timeout_and_abort() -> None:
    waiting = {
        "StartAt": "W",
        "TimeoutSeconds": 5,
        "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}},
    }
    assert simulate(waiting).status == "TIMED_OUT"
    state = advance(start(waiting, {}, StartContext(start_time=T0)), T0, random.Random(0)).state
    stopped = abort(state, T0, "Stop", "by user")
    assert stopped.status == "ABORTED" and types(stopped.events) == ["ExecutionAborted"]


def test_max_virtual_time_leaves_the_execution_running() -> None:
    waiting = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": True}}}
    assert simulate(waiting, max_virtual_time=60).status == "RUNNING"
    assert simulate(waiting, max_virtual_time=601).status == "SUCCEEDED"


def test_parallel_failure_is_retried_then_caught() -> None:
    machine = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}}],
                "Retry": [{"ErrorEquals": ["E"], "MaxAttempts": 1}],
                "Catch": [{"ErrorEquals": ["E"], "Next": "C"}],
                "End": True,
            },
            "C": {"Type": "Pass", "End": True},
        },
    }
    result = simulate(machine)
    assert result.status == "SUCCEEDED" and result.output == {"Error": "E"}
    assert types(result.history).count("ParallelStateStarted") == 2


@pytest.mark.parametrize(("tolerated", "status"), [(1, "SUCCEEDED"), (0, "FAILED")])
def test_distributed_map_tolerates_failures(tolerated: int, status: str) -> None:
    machine = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ToleratedFailureCount": tolerated,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "C",
                    "States": {
                        "C": {
                            "Type": "Choice",
                            "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "F"}],
                            "Default": "S",
                        },
                        "F": {"Type": "Fail", "Error": "Two"},
                        "S": {"Type": "Succeed"},
                    },
                },
                "End": True,
            }
        },
    }
    result = simulate(machine, [1, 2, 3])
    assert result.status == status
    if status == "FAILED":
        assert result.error == "States.ExceedToleratedFailureThreshold"
    assert "MapIterationStarted" not in types(result.history)


def test_item_batcher_groups_items() -> None:
    machine = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemBatcher": {"MaxItemsPerBatch": 2, "BatchInput": {"b": 1}},
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED"},
                    "StartAt": "P",
                    "States": {"P": {"Type": "Pass", "End": True}},
                },
                "End": True,
            }
        },
    }
    result = simulate(machine, [1, 2, 3])
    assert result.output == [
        {"Items": [1, 2], "BatchInput": {"b": 1}},
        {"Items": [3], "BatchInput": {"b": 1}},
    ]


def test_same_seed_same_history() -> None:
    machine = {
        "StartAt": "R",
        "States": {
            "R": {
                "Type": "Pass",
                "Parameters": {"n.$": "States.MathRandom(0, 1000)", "id.$": "States.UUID()"},
                "End": True,
            }
        },
    }
    first, second = simulate(machine, seed=7), simulate(machine, seed=7)
    assert first.history == second.history
    assert first.output != simulate(machine, seed=8).output
