"""Distributed Map in the pure interpreter: child-execution requests, concurrency, tolerance."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest

from stormproof.core.asl import map_run
from stormproof.core.asl.interpreter import StartContext, Step, advance, start

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def machine(**map_fields: Any) -> dict[str, Any]:
    return {
        "QueryLanguage": "JSONPath",
        "StartAt": "Fan",
        "States": {
            "Fan": {
                "Type": "Map",
                "Label": "Items",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                    "StartAt": "P",
                    "States": {"P": {"Type": "Pass", "End": True}},
                },
                "End": True,
                **map_fields,
            }
        },
    }


def first_step(definition: dict[str, Any], items: list[Any]) -> Step:
    context = StartContext(NOW, execution_name="run1", state_machine_name="Orders")
    return advance(start(definition, items, context), NOW, random.Random(0))


def test_children_are_requested_up_to_max_concurrency_and_named_from_the_parent() -> None:
    step = first_step(machine(MaxConcurrency=2), [10, 20, 30])
    requests = step.executions
    assert [r["index"] for r in requests] == [0, 1]
    first = requests[0]
    assert first["machine"] == "Orders/Items" and first["name"] == f"run1-{first['id']}"
    assert first["input"] == 10 and first["type"] == "EXPRESS"
    assert first["map_run"].endswith(":map-run/Fan")
    arn = map_run.child_arn("arn:aws:states:us-east-1:1:execution:Orders:run1", first)
    assert arn == f"arn:aws:states:us-east-1:1:execution:Orders/Items:run1-{first['id']}"
    child = map_run.child_definition(step.state["definition"], first["block"])
    assert child == {
        "QueryLanguage": "JSONPath",
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "End": True}},
    }
    # Requests repeat until answered; an answer frees a slot for the next item.
    again = advance(step.state, NOW, random.Random(0))
    assert [r["id"] for r in again.executions] == [r["id"] for r in requests]
    done = advance(step.state, NOW, random.Random(0), {first["id"]: {"output": 11}})
    assert [r["index"] for r in done.executions] == [1, 2]


def test_outcomes_in_any_order_give_results_in_item_order() -> None:
    step = first_step(machine(), [1, 2, 3])
    outcomes = {r["id"]: {"output": r["input"] * 2} for r in reversed(step.executions)}
    final = advance(step.state, NOW, random.Random(0), outcomes)
    assert (final.status, final.state["output"]) == ("SUCCEEDED", [2, 4, 6])
    assert [e["type"] for e in final.events][-4:] == [
        "MapRunSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
        "ExecutionSucceeded",
    ]


@pytest.mark.parametrize(("tolerated", "status"), [(1, "SUCCEEDED"), (0, "FAILED")])
def test_failed_children_count_against_the_tolerance(tolerated: int, status: str) -> None:
    step = first_step(machine(ToleratedFailureCount=tolerated), [1, 2])
    ids = [r["id"] for r in step.executions]
    outcomes = {ids[0]: {"output": 1}, ids[1]: {"error": "Boom", "cause": "x"}}
    final = advance(step.state, NOW, random.Random(0), outcomes)
    assert final.status == status
    if status == "SUCCEEDED":
        assert final.state["output"] == [1, {"Error": "Boom", "Cause": "x"}]
    else:
        assert final.state["error"] == "States.ExceedToleratedFailureThreshold"
        assert "MapRunFailed" in [e["type"] for e in final.events]


def test_prepare_redrive_redrives_failed_and_stopped_children_under_new_ids() -> None:
    state: dict[str, Any] = {"next_work_id": 9}
    frame: dict[str, Any] = {
        "map": {
            "inputs": [1, 2, 3],
            "results": [5, {"Error": "E", "Cause": None}, None],
            "finished": 2,
            "failed": 1,
            "failures": {"1": "child-2"},
        },
        "children": {"2": {"id": "child-7", "redrive": "child-3"}},
    }
    map_run.prepare_redrive(state, frame)
    assert frame["children"] == {
        "1": {"id": "child-10", "redrive": "child-2"},
        "2": {"id": "child-9", "redrive": "child-3"},
    }
    m = frame["map"]
    assert (m["finished"], m["failed"], m["results"]) == (1, 0, [5, None, None])
    assert state["next_work_id"] == 11
